"""The preprocessing stage's per-video item and reading its stored clips (no kedro)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from actionlab.engine import PartitionStore, current_threads
from actionlab.video.clipfile import read_clip, write_clip
from actionlab.video.decode import set_decode_threads
from actionlab.video.sampling import uniform_indices

CLIP_VERSION = "2"  # bump when decoding, cropping or sampling changes the stored frames
CLIP_SUFFIX = ".h5"


def clip_item(
    out: Path, *, path: str, start: float | None, end: float | None, clip: dict[str, Any]
) -> dict[str, Any]:
    """Decode one video into the chunked clip file ``out``; the record has counts and warnings."""
    set_decode_threads(current_threads())
    summary = write_clip(out, path, start=start, end=end, **clip)
    return {"frames": int(summary.frames), "warnings": list(summary.warnings)}


def load_stored_clip(
    store: PartitionStore, key: str, start: int | None = None, stop: int | None = None
) -> dict[str, np.ndarray]:
    """Frames (and indices, times) of a stored clip, or the window [start, stop) of them."""
    local = store.local_path(key)
    if local is not None:
        return read_clip(local, start, stop)
    with store.open(key) as handle:
        return read_clip(handle, start, stop)


def stored_frames(store: PartitionStore, key: str) -> np.ndarray:
    """All frames of a stored clip (a picklable reader for workers: ``partial(stored_frames, store, key)``)."""
    return load_stored_clip(store, key)["frames"]


def sampled_frames(store: PartitionStore, key: str, frames: int, count: int) -> np.ndarray:
    """``count`` evenly spread frames of a stored clip of ``frames`` frames (all of them when it
    has fewer), read one window each so a long clip stays on disk."""
    picks = uniform_indices(frames, count)
    return np.stack([load_stored_clip(store, key, int(i), int(i) + 1)["frames"][0] for i in picks])
