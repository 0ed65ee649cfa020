from __future__ import annotations

import cv2
import numpy as np
import pytest

from actionlab.encoders import build_encoder
from actionlab.encoders.motion import MotionEncoder

SIZE, SQUARE, FRAMES, BORDER = 96, 14, 8, 8
HIST = 16 + 48  # default clip histograms: 2x2 level (mirror-folded) + 3x3 level (mirror-folded)
TEXTURE = np.random.default_rng(1).integers(80, 256, (SQUARE, SQUARE, 3), dtype=np.uint8)
# a smooth, textured static background, BORDER px larger on every side (room for camera shifts)
PLATE = cv2.GaussianBlur(
    np.random.default_rng(2).integers(0, 256, (SIZE + 2 * BORDER, SIZE + 2 * BORDER, 3), np.uint8),
    (7, 7),
    0,
)


def view(cam: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The background seen by a camera moved ``cam = (x, y)`` px (content moves by -cam)."""
    cx, cy = cam
    return PLATE[BORDER + cy : BORDER + cy + SIZE, BORDER + cx : BORDER + cx + SIZE].copy()


def moving_square(
    dx: int,
    dy: int,
    start: tuple[int, int] = (10, 6),
    *,
    cams: np.ndarray | None = None,
    frames: int = FRAMES,
) -> np.ndarray:
    """A textured square moving (dx, dy) px per frame from ``start = (y, x)`` over the static
    textured background, optionally filmed by a jittering camera (``cams``: (frames, 2))."""
    clip = []
    for t in range(frames):
        cx, cy = (0, 0) if cams is None else (int(v) for v in cams[t])
        frame = view((cx, cy))
        y, x = start[0] + dy * t - cy, start[1] + dx * t - cx
        frame[y : y + SQUARE, x : x + SQUARE] = TEXTURE
        clip.append(frame)
    return np.stack(clip)


def jitter_path(seed: int = 0, frames: int = FRAMES) -> np.ndarray:
    """Random camera positions (frames, 2) moving at most 2 px per frame and axis."""
    steps = np.random.default_rng(seed).integers(-2, 3, (frames, 2))
    steps[0] = 0
    return np.clip(np.cumsum(steps, axis=0), -BORDER + 1, BORDER - 1)


def bin_shares(frames: np.ndarray, enc: MotionEncoder) -> np.ndarray:
    """Share of each orientation bin in the frame features (all pairs, all cells)."""
    total = frames[1:].reshape(len(frames) - 1, enc.grid * enc.grid, enc.bins).sum(axis=(0, 1))
    return total / total.sum()


@pytest.mark.parametrize(
    ("dx", "dy", "start", "bin_"),
    [(1, 0, (10, 4), 0), (-1, 0, (40, 60), 4), (0, 1, (4, 40), 2), (0, -1, (60, 20), 6)],
)
def test_motion_direction_lands_in_its_orientation_bin(
    dx: int, dy: int, start: tuple[int, int], bin_: int
) -> None:
    enc = MotionEncoder()
    frames, emb = enc.encode(moving_square(dx, dy, start))
    assert frames.shape == (FRAMES, 72) and frames.dtype == np.float32
    assert emb.shape == (enc.clip_dim,) == (81,) and emb.dtype == np.float32
    shares = bin_shares(frames, enc)
    assert shares.argmax() == bin_  # 0 right, 2 down (y grows downward), 4 left, 6 up
    assert shares[bin_] > 0.8
    np.testing.assert_array_equal(frames[0], frames[1])  # row 0 repeats the first pair
    # rows are normalised by the clip's mean votes per pair: they average to a total of 1
    assert frames[1:].sum(axis=1).mean() == pytest.approx(1.0, rel=1e-4)


def test_same_motion_elsewhere_in_the_frame_gives_nearly_the_same_embedding() -> None:
    enc = MotionEncoder()
    here = enc.clip_embedding(moving_square(1, 1, (8, 8)))
    there = enc.clip_embedding(moving_square(1, 1, (60, 50)))
    other = enc.clip_embedding(moving_square(1, -1, (60, 50)))
    assert np.abs(here[:HIST] - there[:HIST]).sum() < 0.5  # L1 distance of the histograms
    assert np.abs(here[:HIST] - other[:HIST]).sum() > 2.0  # another direction is far away
    np.testing.assert_allclose(here[HIST:], there[HIST:], atol=0.2)


def test_clip_histograms_are_l1_normalised_per_level_and_speed_invariant() -> None:
    enc = MotionEncoder()
    slow = enc.clip_embedding(moving_square(1, 0, (30, 10)))
    fast = enc.clip_embedding(moving_square(2, 0, (30, 10)))
    assert slow[:16].sum() == pytest.approx(1.0, abs=1e-4)
    assert slow[16:HIST].sum() == pytest.approx(1.0, abs=1e-4)
    assert np.abs(slow[:HIST] - fast[:HIST]).sum() < 0.5


def test_camera_jitter_of_a_static_scene_is_compensated() -> None:
    cams = jitter_path()
    clip = np.stack([view(tuple(c)) for c in cams])
    enc = MotionEncoder()
    _, _, shifts = enc.motion_fields(clip)
    # the content moves against the camera
    np.testing.assert_array_equal(shifts, -(cams[1:] - cams[:-1]))
    frames, emb = enc.encode(clip)
    assert np.abs(frames).max() < 1e-6 and np.abs(emb).max() < 1e-6
    # without the alignment the same clip is full of (spurious) motion
    frames, emb = MotionEncoder({"motion": {"align_radius": 0}}).encode(clip)
    assert np.abs(frames).max() > 0.05 and np.abs(emb).max() > 1.0


def test_camera_jitter_leaves_the_motion_of_the_figure() -> None:
    enc = MotionEncoder()
    steady = enc.clip_embedding(moving_square(2, 1, (30, 20)))
    shaky_clip = moving_square(2, 1, (30, 20), cams=jitter_path(3))
    shaky = enc.clip_embedding(shaky_clip)
    unaligned = MotionEncoder({"motion": {"align_radius": 0}}).clip_embedding(shaky_clip)
    assert np.abs(shaky[:HIST] - steady[:HIST]).sum() < 0.5
    assert np.abs(unaligned[:HIST] - steady[:HIST]).sum() > 1.0


def test_pixel_noise_on_a_static_scene_gives_no_votes(rng: np.random.Generator) -> None:
    still = np.repeat(view()[None], FRAMES, axis=0).astype(np.int16)
    noisy = np.clip(still + rng.normal(0.0, 3.0, still.shape).round(), 0, 255).astype(np.uint8)
    frames, emb = MotionEncoder().encode(noisy)
    assert not np.any(frames) and not np.any(emb)
    # with both gates off the noise does produce flow votes
    ungated = MotionEncoder({"motion": {"flow_threshold": 0.0, "diff_threshold": -1}})
    assert np.abs(ungated.clip_embedding(noisy)).max() > 0.1


def test_clip_embedding_is_mirror_invariant_frame_features_are_not() -> None:
    enc = MotionEncoder()
    clip = moving_square(2, 1, (20, 10))
    flipped = np.ascontiguousarray(clip[:, :, ::-1])
    np.testing.assert_allclose(enc.clip_embedding(clip), enc.clip_embedding(flipped), atol=1e-4)
    right = bin_shares(enc.frame_features(clip), enc)
    left = bin_shares(enc.frame_features(flipped), enc)
    assert right[[0, 1, 7]].sum() > 0.8 and left[[3, 4, 5]].sum() > 0.8
    plain = MotionEncoder({"motion": {"mirror": False}})
    assert plain.clip_dim == 32 + 72 + 17
    assert np.abs(plain.clip_embedding(clip) - plain.clip_embedding(flipped)).max() > 0.1


def test_rhythm_follows_the_oscillation_frequency() -> None:
    def oscillating(period: int, frames: int = 24) -> np.ndarray:
        clip = np.repeat(view()[None], frames, axis=0)
        for t in range(frames):
            x = 40 + int(round(6 * np.sin(2 * np.pi * t / period)))
            clip[t, 40 : 40 + SQUARE, x : x + SQUARE] = TEXTURE
        return clip

    enc = MotionEncoder()
    for period in (8, 4):
        emb = enc.clip_embedding(oscillating(period))
        rhythm = emb[HIST + 5 : HIST + 17].reshape(2, 3, 2)  # (box half, signal, stat)
        dominant_vx = rhythm[:, 0, 1].max()  # v_x of the half that holds the square
        assert dominant_vx == pytest.approx(1 / period, abs=0.02)


def test_static_clip_gives_zero_features() -> None:
    clip = np.repeat(moving_square(0, 0)[:1], FRAMES, axis=0)
    frames, emb = MotionEncoder().encode(clip)
    assert not np.any(frames) and not np.any(emb)


def test_single_frame_clip_registry_and_config_checks() -> None:
    enc = build_encoder("motion", {"motion": {"grid": 2, "bins": 4, "hu_moments": 7}})
    frames, emb = enc.encode(moving_square(1, 0)[:1])
    assert frames.shape == (1, 16) and emb.shape == (4 + 8 + 5 + 12 + 7,)
    assert not np.any(frames) and not np.any(emb)
    assert enc.frame_features(moving_square(1, 0)).shape == (FRAMES, 16)
    assert enc.clip_embedding(moving_square(1, 0)).shape == (enc.clip_dim,)
    single = MotionEncoder({"motion": {"pyramid": False, "hu_moments": 0}})
    assert single.clip_embedding(moving_square(1, 0)).shape == (48 + 5 + 12,)
    with pytest.raises(ValueError, match="hu_moments"):
        MotionEncoder({"motion": {"hu_moments": 8}})
