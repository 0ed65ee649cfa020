from __future__ import annotations

import numpy as np
import pytest

from actionlab.encoders import build_encoder
from actionlab.encoders.motion import MotionEncoder

SIZE, SQUARE, FRAMES = 96, 14, 8


def moving_square(dx: int, dy: int, start: tuple[int, int] = (10, 6)) -> np.ndarray:
    """A textured square moving (dx, dy) px per frame inside the top-left 32x32 cell."""
    tex = np.random.default_rng(1).integers(80, 256, (SQUARE, SQUARE, 3), dtype=np.uint8)
    clip = np.full((FRAMES, SIZE, SIZE, 3), 20, np.uint8)
    y0, x0 = start
    for t in range(FRAMES):
        y, x = y0 + dy * t, x0 + dx * t
        clip[t, y : y + SQUARE, x : x + SQUARE] = tex
    return clip


@pytest.mark.parametrize(("dx", "bin_"), [(1, 0), (-1, 4)])
def test_horizontal_motion_lands_in_horizontal_bins_of_its_cell(dx: int, bin_: int) -> None:
    enc = MotionEncoder()
    start = (10, 4) if dx > 0 else (10, 14)
    clip = moving_square(dx, 0, start)
    frames, emb = enc.encode(clip)
    assert frames.shape == (FRAMES, 72) and frames.dtype == np.float32
    assert emb.shape == (79,) and emb.dtype == np.float32
    mean = emb[:72].reshape(9, 8)  # (cell, bin); cell 0 = top-left
    assert np.unravel_index(mean.argmax(), mean.shape) == (0, bin_)
    horizontal = mean[:, [0, 4]].sum()
    assert horizontal / mean.sum() > 0.6
    assert mean[0].sum() / mean.sum() > 0.6
    np.testing.assert_array_equal(frames[0], frames[1])  # row 0 repeats the first pair


def test_vertical_motion_lands_in_vertical_bins() -> None:
    mean = MotionEncoder().clip_embedding(moving_square(0, 1, (4, 10)))[:72].reshape(9, 8)
    assert mean[:, [2, 6]].sum() > mean[:, [0, 4]].sum()
    assert mean.argmax() % 8 == 2  # y grows downward in image coordinates


def test_static_clip_gives_zero_flow_features() -> None:
    clip = np.repeat(moving_square(0, 0)[:1], FRAMES, axis=0)
    frames, emb = MotionEncoder().encode(clip)
    assert np.abs(frames).max() < 1e-3
    np.testing.assert_allclose(emb, 0.0, atol=1e-3)


def test_single_frame_clip_and_registry() -> None:
    enc = build_encoder("motion", {"motion": {"grid": 2, "bins": 4}})
    frames, emb = enc.encode(moving_square(1, 0)[:1])
    assert frames.shape == (1, 16) and emb.shape == (23,)
    assert not np.any(frames) and not np.any(emb)
    assert enc.frame_features(moving_square(1, 0)).shape == (FRAMES, 16)
