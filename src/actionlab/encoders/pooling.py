"""Temporal sampling and pooling of per-frame features (pure numpy, no torch).

Two-stream sampling (used by every encoder's clip embedding):

* **small stream** - ``num_frames`` frames ``small_step`` apart, *centred* in the clip: the
  first index is ``(total - span) // 2`` with ``span = (num_frames - 1) * small_step + 1``
  (fine temporal detail around the middle of the action). When the span does not fit the
  clip the step shrinks to the largest one that fits (``(total - 1) // (num_frames - 1)``,
  at least 1).
* **large stream** - ``num_frames`` frames ``max(1, total // num_frames)`` apart starting at
  frame 0 (coarse coverage of the whole clip).
* Clips shorter than ``num_frames`` use all their frames for both streams (no index is ever
  out of range and none is repeated).
"""

from __future__ import annotations

import numpy as np

POOLINGS = ("max", "mean", "meanstd")
STREAMS = ("two", "single")


def two_stream_indices(
    total: int, num_frames: int = 8, small_step: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices ``(small, large)`` of the two streams for a clip of ``total`` frames."""
    total, num_frames, small_step = int(total), int(num_frames), int(small_step)
    if total < 1:
        raise ValueError(f"total={total}: a clip needs at least one frame.")
    if num_frames < 1 or small_step < 1:
        raise ValueError(f"num_frames={num_frames} and small_step={small_step} must both be >= 1.")
    if total <= num_frames:
        every = np.arange(total, dtype=np.int64)
        return every, every.copy()
    step = small_step
    if (num_frames - 1) * step + 1 > total:
        step = max(1, (total - 1) // (num_frames - 1))
    span = (num_frames - 1) * step + 1
    start = (total - span) // 2
    small = start + step * np.arange(num_frames, dtype=np.int64)
    large = max(1, total // num_frames) * np.arange(num_frames, dtype=np.int64)
    return small, large


def pool(features: np.ndarray, how: str = "max") -> np.ndarray:
    """Pool ``features`` (T, ...) over axis 0 with ``how`` in ``POOLINGS``.

    ``"meanstd"``: the mean followed by the (population) standard deviation over time, so the
    result is twice as long along the last axis: what the features are on average and how
    much they change during the clip.
    """
    features = np.asarray(features)
    if features.ndim < 1 or features.shape[0] == 0:
        raise ValueError(f"Cannot pool features of shape {features.shape}: need at least one row.")
    if how == "max":
        return features.max(axis=0)
    if how == "mean":
        return features.mean(axis=0)
    if how == "meanstd":
        return np.concatenate([features.mean(axis=0), features.std(axis=0)], axis=-1)
    raise ValueError(f"pooling={how!r}; expected one of {POOLINGS}.")


def two_stream_embedding(
    frame_features: np.ndarray,
    *,
    num_frames: int = 8,
    small_step: int = 1,
    pooling: str = "max",
    streams: str = "two",
) -> np.ndarray:
    """Clip embedding from a (T, D) feature sequence.

    ``streams="two"``: ``concat(pool(small), pool(large))`` -> (2D,);
    ``streams="single"``: ``pool(large)`` -> (D,); both twice as long with ``"meanstd"``.
    Returned as float32.
    """
    feats = np.asarray(frame_features)
    if feats.ndim != 2:
        raise ValueError(f"frame_features must be (T, D); got shape {feats.shape}.")
    if streams not in STREAMS:
        raise ValueError(f"streams={streams!r}; expected one of {STREAMS}.")
    small, large = two_stream_indices(feats.shape[0], num_frames, small_step)
    parts = [pool(feats[large], pooling)]
    if streams == "two":
        parts.insert(0, pool(feats[small], pooling))
    return np.concatenate(parts).astype(np.float32, copy=False)


def resample_indices(indices: np.ndarray, length: int) -> np.ndarray:
    """Stretch/shrink an index sequence to ``length`` entries (nearest, order kept)."""
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size == 0 or length < 1:
        raise ValueError(f"Cannot resample {indices.size} indices to length {length}.")
    pick = np.round(np.linspace(0, indices.size - 1, int(length))).astype(np.int64)
    return indices[pick]


def window_indices(total: int, length: int, stride: int | None = None) -> np.ndarray:
    """Sliding windows (W, length) of frame indices over ``total`` frames.

    ``stride`` defaults to half a window; the last window is aligned to the clip end so the
    tail is always covered. A clip shorter than ``length`` gives one window of its frames
    resampled (with repeats) to ``length``.
    """
    total, length = int(total), int(length)
    if total < 1 or length < 1:
        raise ValueError(f"total={total} and length={length} must both be >= 1.")
    if total <= length:
        return resample_indices(np.arange(total), length)[None]
    stride = max(1, int(stride) if stride else length // 2)
    starts = list(range(0, total - length + 1, stride))
    if starts[-1] != total - length:
        starts.append(total - length)
    return np.asarray(starts, dtype=np.int64)[:, None] + np.arange(length, dtype=np.int64)[None]
