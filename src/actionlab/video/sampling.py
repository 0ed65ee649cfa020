"""Frame sampling strategies: pure functions of the frame count (numpy only).

Index strategies return sorted, unique int64 indices in ``[0, total)``:

* ``uniform``    -- ``num_frames`` indices evenly spread over the clip, starting at 0.
* ``step``       -- every ``step``-th frame (0, step, 2*step, ...), at most ``max_frames``.
* ``large_step`` -- ``step`` chosen as ``total // num_frames`` so ``num_frames`` frames span the clip.
* ``all``        -- every frame (at most ``max_frames``).

``cosine`` is content-based: :func:`cosine_select` / :class:`CosineSelector` keep a frame when it
differs enough from the last kept one.
"""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral, Real

import numpy as np

__all__ = [
    "INDEX_STRATEGIES",
    "STRATEGIES",
    "CosineSelector",
    "cosine_select",
    "large_step",
    "large_step_indices",
    "sample_indices",
    "step_indices",
    "uniform_indices",
]

INDEX_STRATEGIES = ("uniform", "step", "large_step", "all")
STRATEGIES = (*INDEX_STRATEGIES, "cosine")


def _check_int(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}.")
    return int(value)


def _empty() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


def uniform_indices(total: int, num_frames: int) -> np.ndarray:
    """``num_frames`` indices evenly spread over ``[0, total)``, the first being 0.

    Index ``i`` is ``floor(i * total / num_frames)`` (the start of each of ``num_frames`` equal
    segments). When the clip has no more frames than requested (``total <= num_frames``) every
    frame is returned once, i.e. FEWER than ``num_frames`` indices and never repeats; pad
    downstream if a fixed length is needed. ``total == 0`` gives an empty array.
    """
    total = _check_int("total", total, minimum=0)
    num_frames = _check_int("num_frames", num_frames, minimum=1)
    if total <= num_frames:
        return np.arange(total, dtype=np.int64)
    return (np.arange(num_frames, dtype=np.int64) * total) // num_frames


def step_indices(total: int, step: int, max_frames: int | None = None) -> np.ndarray:
    """Indices 0, step, 2*step, ... below ``total``; at most ``max_frames`` of them if given."""
    total = _check_int("total", total, minimum=0)
    step = _check_int("step", step, minimum=1)
    idx = np.arange(0, total, step, dtype=np.int64)
    if max_frames is not None:
        idx = idx[: _check_int("max_frames", max_frames, minimum=1)]
    return idx


def large_step(total: int, num_frames: int = 8) -> int:
    """The step that spreads ``num_frames`` frames over the clip: ``max(1, total // num_frames)``."""
    total = _check_int("total", total, minimum=0)
    num_frames = _check_int("num_frames", num_frames, minimum=1)
    return max(1, total // num_frames)


def large_step_indices(total: int, num_frames: int = 8) -> np.ndarray:
    """``step_indices(total, large_step(total, num_frames), num_frames)``."""
    return step_indices(total, large_step(total, num_frames), num_frames)


class CosineSelector:
    """Streaming form of :func:`cosine_select`: call :meth:`offer` with each frame in order.

    A frame is kept when the cosine similarity between it and the LAST KEPT frame (both
    flattened to float vectors) is below ``threshold``; the first frame is always kept.
    All-zero (black) frames count as identical to each other and dissimilar to anything else.
    """

    def __init__(self, threshold: float = 0.9) -> None:
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, Real)
            or not np.isfinite(threshold)
        ):
            raise ValueError(f"threshold: expected a finite number, got {threshold!r}.")
        self.threshold = float(threshold)
        self._last: np.ndarray | None = None
        self._shape: tuple[int, ...] | None = None

    def offer(self, frame: np.ndarray) -> bool:
        """Return True (and remember the frame) if ``frame`` should be kept."""
        frame = np.asarray(frame)
        vec = frame.reshape(-1).astype(np.float32)
        norm = float(np.linalg.norm(vec))
        unit = vec / norm if norm > 0 else vec
        if self._last is None:
            self._last, self._shape = unit, frame.shape
            return True
        if frame.shape != self._shape:
            raise ValueError(
                f"frames: all frames must have the same shape, got {frame.shape} after {self._shape}."
            )
        last_zero = not self._last.any()
        if norm == 0 or last_zero:
            sim = 1.0 if (norm == 0 and last_zero) else 0.0
        else:
            sim = float(np.dot(unit, self._last))
        if sim < self.threshold:
            self._last = unit
            return True
        return False


def cosine_select(frames: Iterable[np.ndarray], threshold: float = 0.9) -> np.ndarray:
    """Indices of the frames kept by cosine-similarity deduplication (see :class:`CosineSelector`).

    ``frames`` may be any iterable (a generator is consumed once, frame by frame); pass small
    (resized) frames, the cost is one dot product of the flattened frame per frame.
    """
    selector = CosineSelector(threshold)
    return np.asarray([i for i, f in enumerate(frames) if selector.offer(f)], dtype=np.int64)


_PARAMS = ("num_frames", "step", "max_frames")


def sample_indices(strategy: str, total: int, **params: int | None) -> np.ndarray:
    """Dispatch to an index strategy: ``uniform`` | ``step`` | ``large_step`` | ``all``.

    Accepted parameters are ``num_frames`` (uniform, large_step; default 8), ``step`` (step;
    default 2) and ``max_frames`` (step, all; default None = no cap); parameters a strategy does
    not use are ignored, so one config can carry them all. Unknown names raise ValueError.
    """
    unknown = sorted(set(params) - set(_PARAMS))
    if unknown:
        raise ValueError(
            f"{unknown[0]}: unknown sampling parameter; accepted: {', '.join(_PARAMS)}."
        )
    num_frames = params.get("num_frames")
    num_frames = 8 if num_frames is None else num_frames
    step = params.get("step")
    step = 2 if step is None else step
    max_frames = params.get("max_frames")
    if strategy == "uniform":
        return uniform_indices(total, num_frames)
    if strategy == "step":
        return step_indices(total, step, max_frames)
    if strategy == "large_step":
        return large_step_indices(total, num_frames)
    if strategy == "all":
        return step_indices(total, 1, max_frames)
    if strategy == "cosine":
        raise ValueError(
            "strategy: 'cosine' selects by content, not by count; use cosine_select() on frames "
            "or load_clip(strategy='cosine')."
        )
    raise ValueError(f"strategy: unknown {strategy!r}; choose one of {', '.join(STRATEGIES)}.")
