"""Frame transforms: rotation, square crop, resize; RGB uint8 in and out."""

from __future__ import annotations

import numpy as np
import pytest

from actionlab.video.transforms import (
    center_crop_square,
    crop_resize,
    normalize_rotation,
    resize,
    rotate_frame,
    to_rgb,
)


def _ramp(h: int, w: int) -> np.ndarray:
    f = np.zeros((h, w, 3), np.uint8)
    f[:, :, 0] = np.arange(w)[None, :] % 256
    f[:, :, 1] = np.arange(h)[:, None] % 256
    return f


def test_center_crop_square_centre_and_offsets() -> None:
    f = _ramp(40, 100)
    c = center_crop_square(f)
    assert c.shape == (40, 40, 3)
    assert c[0, 0, 0] == 30  # margin 60 split evenly
    assert center_crop_square(f, (-1.0, 0.0))[0, 0, 0] == 0
    assert center_crop_square(f, (1.0, 0.0))[0, -1, 0] == 99
    assert center_crop_square(f, (0.5, 0.0))[0, 0, 0] == 45
    tall = _ramp(90, 30)
    assert center_crop_square(tall, (0.0, -1.0))[0, 0, 1] == 0
    assert center_crop_square(tall, (0.0, 1.0))[-1, 0, 1] == 89


def test_offset_out_of_range() -> None:
    with pytest.raises(ValueError, match="offset"):
        center_crop_square(_ramp(4, 8), (1.5, 0.0))


def test_resize_shorter_side_and_interpolation() -> None:
    f = _ramp(40, 100)
    assert resize(f, 20).shape == (20, 50, 3)
    assert resize(f, 80).shape == (80, 200, 3)
    sq = np.zeros((64, 64, 3), np.uint8)
    sq[::2] = 255  # fine stripes: INTER_AREA averages them to mid grey when shrinking
    small = resize(sq, 16)
    assert small.shape == (16, 16, 3) and small.dtype == np.uint8
    assert 120 <= small.mean() <= 135
    with pytest.raises(ValueError, match="size"):
        resize(f, 0)


def test_crop_resize_odd_and_grey_inputs() -> None:
    odd = _ramp(47, 63)
    out = crop_resize(odd, 32)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    grey = np.full((30, 50), 77, np.uint8)
    g = crop_resize(grey, 16)
    assert g.shape == (16, 16, 3) and (g == 77).all()
    assert crop_resize(np.zeros((10, 12, 1), np.uint8), 8).shape == (8, 8, 3)
    assert to_rgb(np.zeros((2, 2, 4), np.uint8)).shape == (2, 2, 3)
    with pytest.raises(ValueError, match="uint8"):
        to_rgb(np.zeros((2, 2, 3), np.float32))


def test_rotate_frame_counter_clockwise() -> None:
    f = np.zeros((2, 3, 3), np.uint8)
    f[0, 0] = 255  # top-left marker
    r90 = rotate_frame(f, 90)
    assert r90.shape == (3, 2, 3) and r90[2, 0, 0] == 255  # CCW: top-left goes bottom-left
    assert rotate_frame(f, -90)[0, 1, 0] == 255  # CW: top-left goes top-right
    assert rotate_frame(f, 180)[1, 2, 0] == 255
    assert normalize_rotation(-90) == 270 and normalize_rotation(89.6) == 90 and normalize_rotation(360) == 0
    assert rotate_frame(f, 0) is f
