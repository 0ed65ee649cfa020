"""Frame transforms on RGB uint8 arrays: rotation, square centre crop, resize.

Every function takes an (H, W, 3) uint8 RGB frame (grey (H, W) or (H, W, 1) and RGBA
(H, W, 4) are accepted too) and returns RGB uint8 with 3 channels.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "center_crop_square",
    "crop_resize",
    "normalize_rotation",
    "resize",
    "rotate_frame",
    "square_crop_box",
    "to_rgb",
]


def to_rgb(frame: np.ndarray) -> np.ndarray:
    """Return ``frame`` as (H, W, 3) uint8: grey is repeated to 3 channels, alpha is dropped."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        raise ValueError(
            f"frame: expected dtype uint8, got {frame.dtype}; convert with .astype(np.uint8)."
        )
    if frame.ndim == 2:
        return np.repeat(frame[:, :, None], 3, axis=2)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 1:
        return np.repeat(frame, 3, axis=2)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return frame[:, :, :3]
    raise ValueError(f"frame: expected shape (H, W, 3), (H, W) or (H, W, 1|4), got {frame.shape}.")


def normalize_rotation(degrees: float) -> int:
    """Round a display rotation to the nearest multiple of 90 and map it into {0, 90, 180, 270}."""
    return int(round(float(degrees) / 90.0)) * 90 % 360


def rotate_frame(frame: np.ndarray, rotation: float) -> np.ndarray:
    """Rotate ``frame`` counter-clockwise by ``rotation`` degrees (a multiple of 90).

    ``rotation`` follows FFmpeg's display-matrix convention (``VideoFrame.rotation`` in PyAV,
    ``VideoInfo.rotation`` here): the angle the stored picture must be turned counter-clockwise
    to be shown upright. A portrait phone clip is typically stored landscape with rotation 270
    (ffprobe prints -90). Returns a contiguous array (a copy unless ``rotation`` is 0).
    """
    k = normalize_rotation(rotation) // 90
    frame = to_rgb(frame)
    if k == 0:
        return frame
    return np.ascontiguousarray(np.rot90(frame, k=k))


def square_crop_box(
    height: int, width: int, offset: tuple[float, float] = (0.0, 0.0)
) -> tuple[int, int, int]:
    """``(x0, y0, side)`` of the largest square in a ``height`` x ``width`` frame.

    ``offset`` = (x, y), each in [-1, 1], shifts the square within the free margin:
    0 is centred, -1 touches the left/top edge, +1 the right/bottom edge.
    """
    ox, oy = (float(v) for v in offset)
    if not (-1.0 <= ox <= 1.0 and -1.0 <= oy <= 1.0):
        raise ValueError(f"offset: each of (x, y) must be in [-1, 1], got {offset}.")
    s = min(height, width)
    x0 = int(round((width - s) / 2.0 * (1.0 + ox)))
    y0 = int(round((height - s) / 2.0 * (1.0 + oy)))
    return min(max(x0, 0), width - s), min(max(y0, 0), height - s), s


def center_crop_square(frame: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Crop the largest square from ``frame``; returns a view (no copy) of the RGB frame.

    ``offset`` = (x, y), each in [-1, 1], shifts the square within the free margin:
    0 is centred, -1 touches the left/top edge, +1 the right/bottom edge.
    """
    frame = to_rgb(frame)
    x0, y0, s = square_crop_box(frame.shape[0], frame.shape[1], offset)
    return frame[y0 : y0 + s, x0 : x0 + s]


def resize(frame: np.ndarray, size: int) -> np.ndarray:
    """Resize so the SHORTER side is ``size`` pixels, keeping the aspect ratio.

    A square frame (e.g. from :func:`center_crop_square`) therefore becomes (size, size, 3).
    Uses ``cv2.INTER_AREA`` when shrinking and ``cv2.INTER_LINEAR`` when enlarging.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
        raise ValueError(f"size: expected a positive int, got {size!r}.")
    frame = to_rgb(frame)
    h, w = frame.shape[:2]
    if h == 0 or w == 0:
        raise ValueError(f"frame: empty frame of shape {frame.shape} cannot be resized.")
    if h <= w:
        new_h, new_w = int(size), max(1, int(round(w * size / h)))
    else:
        new_h, new_w = max(1, int(round(h * size / w))), int(size)
    if (new_h, new_w) == (h, w):
        return np.ascontiguousarray(frame)
    interp = cv2.INTER_AREA if new_h < h else cv2.INTER_LINEAR
    out = cv2.resize(np.ascontiguousarray(frame), (new_w, new_h), interpolation=interp)
    return out


def crop_resize(
    frame: np.ndarray, size: int = 128, offset: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """Square crop (see :func:`center_crop_square`) then resize to (size, size, 3) uint8."""
    return resize(center_crop_square(frame, offset), size)
