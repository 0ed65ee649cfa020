"""Camera-shake search and the moving-figure crop (actionlab.video.stabilize)."""

import cv2
import numpy as np
import pytest

from actionlab.video.stabilize import global_shift, motion_crop, shift_image, square_box

SIZE = 96


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _background(rng: np.random.Generator) -> np.ndarray:
    noise = rng.integers(0, 256, (SIZE + 16, SIZE + 16, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (5, 5), 0)


def _clip(rng: np.random.Generator, shake: bool, frames: int = 12) -> np.ndarray:
    """A bright 12 px square bobbing up and down in the middle of a textured
    background; with ``shake`` the camera moves by up to 2 px per frame."""
    plate = _background(rng)
    out = []
    cam = np.zeros(2, int)
    for t in range(frames):
        if shake and t:
            cam = np.clip(cam + rng.integers(-2, 3, 2), -6, 6)
        frame = plate[8 + cam[1] : 8 + cam[1] + SIZE, 8 + cam[0] : 8 + cam[0] + SIZE].copy()
        y = 42 + int(round(6 * np.sin(2 * np.pi * t / 6)))
        frame[y : y + 12, 42:54] = 255
        out.append(frame)
    return np.stack(out)


def test_global_shift_finds_the_translation_and_keeps_a_static_camera(
    rng: np.random.Generator,
) -> None:
    image = cv2.GaussianBlur(rng.integers(0, 256, (64, 64), dtype=np.uint8), (5, 5), 0)
    for dx, dy in [(2, -1), (-3, 3), (0, 1)]:
        moved = shift_image(image, -dx, -dy)  # moved[y + dy, x + dx] = image[y, x]
        assert global_shift(image, moved, 3) == (dx, dy)
    assert global_shift(image, image, 3) == (0, 0)
    assert global_shift(image, shift_image(image, -2, 0), 0) == (0, 0)  # radius 0: off


def test_square_box_bounds_the_energy() -> None:
    energy = np.zeros((50, 80))
    energy[10:20, 30:60] = 1.0
    y0, y1, x0, x1 = square_box(energy, quantile=0.0, margin=0.0)
    assert (x0, x1) == (30.0, 60.0)  # the longer side
    assert y1 - y0 == pytest.approx(30.0) and (y0 + y1) / 2 == pytest.approx(15.0)
    y0, y1, x0, x1 = square_box(energy, quantile=0.0, margin=0.5)
    assert x1 - x0 == pytest.approx(60.0)
    assert square_box(np.zeros((50, 80))) == (0.0, 50.0, 0.0, 80.0)
    with pytest.raises(ValueError, match="quantile"):
        square_box(energy, quantile=0.5)


@pytest.mark.parametrize("shake", [False, True])
def test_motion_crop_follows_the_moving_figure(rng: np.random.Generator, shake: bool) -> None:
    clip = _clip(rng, shake)
    out = motion_crop(clip, 32)
    assert out.shape == (len(clip), 32, 32, 3) and out.dtype == np.uint8
    # the square (12 px in a 96 px frame: 1/64 of it) is zoomed in
    bright = (out.min(axis=-1) >= 250).mean()
    assert bright > 2 / 64
    # the crop is fixed to the aligned background: only the square's rows change over time
    change = np.abs(np.diff(out.astype(int), axis=0)).mean(axis=(0, 3))
    columns = change.mean(axis=0)
    assert columns[8:24].mean() > 4 * np.delete(columns, np.s_[8:24]).mean()


def test_motion_crop_of_a_still_clip_is_the_whole_frame(rng: np.random.Generator) -> None:
    frame = _background(rng)[:SIZE, :SIZE]
    out = motion_crop(np.repeat(frame[None], 4, axis=0), 48)
    expected = cv2.resize(frame, (48, 48), interpolation=cv2.INTER_AREA)
    assert np.abs(out[0].astype(int) - expected.astype(int)).max() <= 2
    with pytest.raises(ValueError, match="uint8 clip"):
        motion_crop(np.zeros((0, 8, 8, 3), np.uint8), 8)
