"""Toy clips for the clip-model tests: a bright square moving right (class 0) or left (class 1)."""

from __future__ import annotations

import numpy as np


def moving_square(
    direction: int, *, frames: int = 8, size: int = 32, side: int = 6, speed: int = 2, seed: int = 0
) -> np.ndarray:
    """uint8 (frames, size, size, 3): dim noise and a bright square moving ``speed`` px per frame
    to the right (``direction=0``) or to the left (``direction=1``), at a random height and start."""
    rng = np.random.default_rng(seed)
    clip = rng.integers(0, 40, size=(frames, size, size, 3), dtype=np.uint8)
    travel = speed * (frames - 1)
    x0 = int(rng.integers(0, size - side - travel + 1))
    y = int(rng.integers(0, size - side + 1))
    step = speed if direction == 0 else -speed
    start = x0 if direction == 0 else x0 + travel
    for t in range(frames):
        x = start + step * t
        clip[t, y : y + side, x : x + side] = 230
    return clip


def toy_set(n: int, **kwargs) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` clips, classes alternating 0, 1, 0, ... (balanced when ``n`` is even)."""
    labels = np.arange(n) % 2
    clips = [moving_square(int(c), seed=i, **kwargs) for i, c in enumerate(labels)]
    return clips, labels


def frame_ids(frames: int, size: int = 8) -> np.ndarray:
    """A clip whose frame i is filled with the value i (to read frame indices back)."""
    return np.broadcast_to(
        np.arange(frames, dtype=np.uint8)[:, None, None, None], (frames, size, size, 3)
    ).copy()
