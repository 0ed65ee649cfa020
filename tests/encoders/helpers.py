"""Small helpers shared by the encoder tests."""

from __future__ import annotations

import numpy as np


def random_clip(rng: np.random.Generator, frames: int, size: int = 32) -> np.ndarray:
    """Random uint8 clip (frames, size, size, 3)."""
    return rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8)
