"""What every segmentation backend is: a stream of frames in, one list of object masks per frame
out, in bounded memory (no kedro).

A backend never holds a whole video: ``Segmenter.stream`` pulls frames from an iterator and
yields each frame's masks as soon as it may (after at most ``chunk_frames`` frames of look-ahead
for backends that propagate over a span), so its peak memory does not grow with the video's
length. ``build_segmenter`` builds the backend named by ``segmentation.backend``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class ObjectMask:
    """One object on one frame: a stable ``object_id`` across the video, its (H, W) bool mask,
    its ``label`` (the prompt phrase, or "" when the backend has no names) and a ``score``."""

    object_id: int
    mask: np.ndarray
    label: str = ""
    score: float = 1.0


class Segmenter(ABC):
    """A segmentation backend, built once per video item from its parameters."""

    #: the backend's name (``segmentation.backend``)
    name: str = ""

    @abstractmethod
    def stream(self, frames: Iterable[np.ndarray]) -> Iterator[list[ObjectMask]]:
        """Yield, for each (H, W, 3) uint8 RGB frame of ``frames`` in order, the list of its
        objects (possibly empty); exactly one list per frame. Object IDs are stable within the
        stream. Memory stays bounded however long ``frames`` is."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release models or buffers (optional)."""

    def stats(self) -> dict[str, float]:
        """Numbers about the last stream that join its per-video statistics (a backend's own,
        e.g. detection frames and ID switches; none by default)."""
        return {}


def foreground(masks: list[ObjectMask], shape: tuple[int, int]) -> np.ndarray:
    """The union of a frame's object masks, an (H, W) bool array (all False with no objects)."""
    out = np.zeros(shape, bool)
    for item in masks:
        out |= item.mask
    return out


#: each value of ``segmentation.backend`` and the parameter sections it reads
BACKEND_SECTIONS = {
    "motion": ("motion",),
    "grounded_sam2": ("sam2", "grounded_sam2"),
    "sam2_oversegment": ("sam2", "sam2_oversegment"),
}
BACKEND_NAMES = tuple(BACKEND_SECTIONS)


def build_segmenter(params: Mapping[str, Any], device: str = "auto") -> Segmenter:
    """The backend ``params["backend"]`` built from its section of the ``segmentation`` parameters
    (``params["motion"]``, ``params["grounded_sam2"]``, ``params["sam2_oversegment"]``, with
    ``params["sam2"]`` shared by the two SAM 2 backends). Missing weights fail here, before any
    frame, naming the parameter and what to download."""
    backend = params["backend"]
    if backend == "motion":
        from actionlab.segmentation.motion import MotionSegmenter

        return MotionSegmenter.from_params(params)
    if backend == "grounded_sam2":
        from actionlab.segmentation.grounded import GroundedSam2Segmenter

        return GroundedSam2Segmenter.from_params(params, device)
    if backend == "sam2_oversegment":
        from actionlab.segmentation.oversegment import Sam2OversegmentSegmenter

        return Sam2OversegmentSegmenter.from_params(params, device)
    raise ValueError(f"segmentation.backend={backend!r}: expected one of {', '.join(BACKEND_NAMES)}")
