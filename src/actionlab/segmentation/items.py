"""The segmentation stage's per-video item and reading what it stored (no kedro).

One item segments one preprocessed clip (03_primary) window by window and writes one file to
04_feature: a clip file (``actionlab.video.clipfile``: the frames with the background replaced
by ``segmentation.background``, the source frames' indices and times), so the embedding stage
reads it exactly like a clip, plus the masks as COCO run-length encodings in a ``masks`` group
(one row per frame and object, ``actionlab.segmentation.masks.MASK_COLUMNS``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import h5py
import numpy as np
import pandas as pd

from actionlab.engine import PartitionStore
from actionlab.keys import params_hash, weights_hash
from actionlab.manifest import ACCEPTED
from actionlab.segmentation.base import BACKEND_NAMES, BACKEND_SECTIONS, build_segmenter, foreground
from actionlab.segmentation.masks import MASK_COLUMNS, encode_masks
from actionlab.video.clipfile import ClipWriter

SEGMENTATION_VERSION = "2"  # bump when a backend's output for the same parameters changes
#: parameters that name weights: their files' content goes into the cache key
WEIGHT_PATHS = (("sam2", "checkpoint"), ("grounded_sam2", "model_dir"))

Reader = Callable[[int, int], Mapping[str, np.ndarray]]


def segmentation_params(params: Mapping[str, Any], device: str = "cpu") -> dict[str, Any]:
    """The part of the ``segmentation`` parameters that changes the masks: the backend, its
    sections, the chunk length (propagation restarts at chunk boundaries) and the fill value.
    For the SAM 2 backends, ``sam2``'s image size and bf16 are those it runs with on ``device``
    (a CPU runs at ``cpu_image_size``): masks made at another size are keyed apart, and a new
    video is segmented (on any device) at the size of the training clips."""
    backend = params["backend"]
    if backend not in BACKEND_SECTIONS:
        raise ValueError(f"segmentation.backend={backend!r}: expected one of {', '.join(BACKEND_NAMES)}")
    used = {k: params[k] for k in ("backend", "chunk_frames", "background")}
    used |= {s: dict(params.get(s) or {}) for s in BACKEND_SECTIONS[backend]}
    if "sam2" in used:
        import torch

        from actionlab.segmentation.sam2_models import bf16_for, image_size_for

        dev = torch.device(device)
        size = image_size_for(used["sam2"], dev)
        used["sam2"] |= {"image_size": size, "cpu_image_size": size, "bf16": bf16_for(used["sam2"], dev)}
    return used


def segmentation_hash(params: Mapping[str, Any], device: str = "cpu") -> str:
    """Short hash of what makes a video's masks on ``device``: ``segmentation_params`` and the
    content of the weight files they name (replacing a checkpoint at the same path recomputes
    the masks)."""
    used = segmentation_params(params, device)
    weights = {}
    for section, key in WEIGHT_PATHS:
        path = (used.get(section) or {}).get(key)
        if path:
            weights[f"{section}.{key}"] = weights_hash(Path(path).expanduser())
    return params_hash(used, weights, SEGMENTATION_VERSION)


def _windows(read: Reader, frames: int, chunk: int, pending: deque) -> Iterator[np.ndarray]:
    """The clip's frames, ``chunk`` at a time from the store; each frame's index and time wait in
    ``pending`` until its masks come back."""
    for start in range(0, frames, chunk):
        window = read(start, min(start + chunk, frames))
        for frame, index, t in zip(window["frames"], window["indices"], window["times"], strict=True):
            pending.append((frame, int(index), float(t)))
            yield frame


def segment_item(out: Path | None, *, read: Reader, frames: int, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Segment one clip of ``frames`` frames (``read(start, stop)`` returns a window of it) with
    the backend ``spec["params"]`` names and write the segmented clip and its masks to ``out``.
    The record holds the per-video statistics: objects, frames per object, mean coverage, time."""
    params = spec["params"]
    chunk = int(params["chunk_frames"])
    fill = np.uint8(params["background"])
    began = time.perf_counter()
    segmenter = build_segmenter(params, spec.get("device", "cpu"))
    pending: deque = deque()
    rows: list[pd.DataFrame] = []
    coverage: list[float] = []
    out_frames, out_idx, out_ts = [], [], []
    try:
        with ClipWriter(out) as writer:
            for k, objects in enumerate(segmenter.stream(_windows(read, frames, chunk, pending))):
                frame, index, t = pending.popleft()
                mask = foreground(objects, frame.shape[:2])
                coverage.append(float(mask.mean()))
                out_frames.append(np.where(mask[..., None], frame, fill))
                out_idx.append(index)
                out_ts.append(t)
                if objects:
                    rows.append(encode_masks(
                        {"frame": k, "object_id": o.object_id, "mask": o.mask, "label": o.label, "score": o.score}
                        for o in objects
                    ))  # fmt: skip
                if len(out_frames) == chunk:
                    writer.append(np.stack(out_frames), out_idx, out_ts)
                    out_frames, out_idx, out_ts = [], [], []
            if out_frames:
                writer.append(np.stack(out_frames), out_idx, out_ts)
            stats = segmenter.stats()
    finally:
        segmenter.close()
    if len(coverage) != frames or pending:
        raise RuntimeError(
            f"segmentation backend {params['backend']!r} returned masks for {len(coverage)} of {frames} frames; "
            "a backend yields exactly one list per frame"
        )
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=MASK_COLUMNS)
    write_masks(out, table)
    lengths = table.groupby("object_id")["frame"].nunique() if len(table) else pd.Series(dtype=float)
    return {
        "frames": frames,
        "objects": int(len(lengths)),
        "mean_object_frames": float(lengths.mean()) if len(lengths) else 0.0,
        "mean_coverage": float(np.mean(coverage)) if coverage else 0.0,
        "empty_frames": int(sum(c == 0 for c in coverage)),
        "seconds": time.perf_counter() - began,
        **stats,
    }


def remove_background(frames: np.ndarray, params: Mapping[str, Any], device: str = "cpu") -> np.ndarray:
    """``frames`` (T, H, W, 3) uint8 with everything outside the backend's objects replaced by
    ``params["background"]``: what ``segment_item`` stores, for one clip in memory (inference on
    a new video whose model was trained on segmented clips)."""
    segmenter = build_segmenter(params, device)
    fill = np.uint8(params["background"])
    try:
        out = [np.where(foreground(objects, frame.shape[:2])[..., None], frame, fill)
               for frame, objects in zip(frames, segmenter.stream(iter(frames)), strict=True)]  # fmt: skip
    finally:
        segmenter.close()
    return np.stack(out) if out else frames.copy()


def clip_sources(
    clip_index: pd.DataFrame, segmentation_index: pd.DataFrame | None, clips: PartitionStore,
    segmented_clips: PartitionStore, choice: str,
) -> tuple[pd.DataFrame, PartitionStore]:  # fmt: skip
    """The accepted clips with ``source_key``, the key of the frames to read, and the store that
    holds them: the preprocessed clips (``embedding.input: raw``) or their segmented versions
    (``segmented``; clips without one are left out with a warning)."""
    rows = clip_index[clip_index["status"] == ACCEPTED].copy()
    if choice == "raw":
        return rows.assign(source_key=rows["clip_key"], segment_key=""), clips
    if segmentation_index is None:
        raise ValueError(
            "embedding.input=segmented needs the segmented clips (data/04_feature/segmentation_index.parquet), "
            "which do not exist yet: run `kedro run --pipelines segmentation` first, or set embedding.input=raw."
        )
    done = segmentation_index[segmentation_index["status"] == ACCEPTED][["clip_key", "segment_key"]]
    joined = rows.merge(done, on="clip_key", how="inner")
    if len(joined) < len(rows):
        logging.getLogger(__name__).warning(
            "embedding.input=segmented: %d of %d clips have no segmented version (see "
            "data/08_reporting/segmentation_stats.csv) and are left out", len(rows) - len(joined), len(rows),
        )  # fmt: skip
    if joined.empty:
        raise ValueError("embedding.input=segmented: no clip of clip_index was segmented; run the segmentation pipeline.")
    return joined.assign(source_key=joined["segment_key"]), segmented_clips


def write_masks(path: Path | None, table: pd.DataFrame) -> None:
    """Add the mask table to the segmented clip file ``path`` as a ``masks`` group of columns."""
    with h5py.File(path, "a") as f:
        group = f.create_group("masks")
        for column in MASK_COLUMNS:
            values = table[column].to_numpy() if len(table) else np.zeros(0)
            if column in ("label", "counts"):
                group.create_dataset(column, data=np.asarray([str(v) for v in values], dtype=object),
                                     dtype=h5py.string_dtype())  # fmt: skip
            elif column == "score":
                group.create_dataset(column, data=values.astype(np.float32))
            else:
                group.create_dataset(column, data=values.astype(np.int64))


def read_masks(source: str | Path | IO[bytes]) -> pd.DataFrame:
    """The mask table stored in a segmented clip file (``MASK_COLUMNS``, one row per frame and object)."""
    with h5py.File(source if not isinstance(source, Path) else str(source), "r") as f:
        if "masks" not in f:
            raise ValueError(f"{source}: not a segmented clip file (no masks); run the segmentation pipeline again.")
        group = f["masks"]
        data = {c: group[c][()] for c in MASK_COLUMNS}
    for column in ("label", "counts"):
        data[column] = [v.decode() if isinstance(v, bytes) else str(v) for v in data[column]]
    return pd.DataFrame(data, columns=MASK_COLUMNS)
