"""Video-consistent augmented copies of a target's correct train clips for the one-class scorers
(no kedro).

The scorers learn from encoder outputs, so an augmented copy of a clip is its stored frames
transformed by one ``ClipAugment`` draw (the same crop, rotation, colour shift, blur and, for a
symmetric action, flip on every frame) and encoded again by the embedding encoder: an extra
clip embedding and per-frame feature sequence. Only the correct clips of the train split are
copied; validation and test clips never are.

Each copy's random draw is seeded by (``seed``, video id, copy number), so a copy does not
depend on which other clips are augmented or in which order.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from actionlab.anomaly.data import target_sets
from actionlab.models.augment import ClipAugment

AUGMENTED_COLUMNS = ["video_id", "label", "split", "clip_key", "copy", "embedding", "frame_features",
                     "feature_frames"]  # fmt: skip


def augment_sources(labels: Sequence[Any], splits: Sequence[Any], incorrect: np.ndarray,
                    targets: Iterable[str]) -> np.ndarray:  # fmt: skip
    """Row indices of the clips to copy: the correct train clips of each target (sorted)."""
    picks = [target_sets(labels, splits, incorrect, t).train for t in targets]
    return np.unique(np.concatenate(picks)) if picks else np.zeros(0, int)


def copy_seed(seed: int, video_id: str, copy: int) -> int:
    """The torch seed of one copy's random transform."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(str(video_id).encode()),
                                       int(copy)]).generate_state(1)[0])  # fmt: skip


def augment_frames(frames: np.ndarray, augment: ClipAugment, seed: int) -> np.ndarray:
    """Stored frames ``(T, H, W, 3)`` uint8 -> one draw of ``augment`` (seeded by ``seed``,
    leaving torch's global random state as it was) applied to all of them, same layout."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        out = augment(x)
    return out.permute(0, 2, 3, 1).contiguous().numpy()


def augmented_clips(
    sources: pd.DataFrame,
    read: Callable[[str], np.ndarray],
    encode: Callable[[list[np.ndarray]], list[tuple[np.ndarray, np.ndarray]]],
    config: Mapping[str, Any],
    *,
    seed: int,
    group: int = 8,
) -> pd.DataFrame:
    """``config['copies']`` augmented copies of each clip of ``sources`` (columns video_id, label,
    split, clip_key): its frames (``read(clip_key)``) through one ``ClipAugment`` draw per copy
    (strengths from ``config``; flipped only when the label is in ``config['flip_labels']``),
    then ``encode`` (a list of clips -> (frame features (T', D), embedding) each), ``group``
    clips per call. One row per copy (``AUGMENTED_COLUMNS``; ``frame_features`` flattened,
    ``feature_frames`` = T')."""
    copies = int(config["copies"])
    flips = {str(label) for label in config["flip_labels"]}
    rows: list[dict[str, Any]] = []
    pending: list[tuple[dict[str, Any], np.ndarray]] = []

    def flush() -> None:
        outs = encode([frames for _, frames in pending])
        for (row, _), (features, embedding) in zip(pending, outs, strict=True):
            feats = np.asarray(features, np.float32)
            rows.append({**row, "embedding": np.asarray(embedding, np.float32),
                         "frame_features": feats.reshape(-1), "feature_frames": len(feats)})  # fmt: skip
        pending.clear()

    for src in sources.itertuples(index=False) if copies else ():
        frames = read(str(src.clip_key))
        augment = ClipAugment.from_config(frames.shape[1], config, flip=str(src.label) in flips)
        for k in range(copies):
            out = augment_frames(frames, augment, copy_seed(seed, str(src.video_id), k))
            row = {"video_id": str(src.video_id), "label": str(src.label), "split": str(src.split),
                   "clip_key": str(src.clip_key), "copy": k}  # fmt: skip
            pending.append((row, out))
            if len(pending) >= group:
                flush()
    if pending:
        flush()
    return pd.DataFrame(rows, columns=AUGMENTED_COLUMNS)


def augmented_sequences(table: pd.DataFrame) -> list[np.ndarray]:
    """The per-frame feature sequences ``(T', D)`` of an ``augmented_clips`` table."""
    return [np.asarray(f, np.float32).reshape(int(n), -1)
            for f, n in zip(table["frame_features"], table["feature_frames"], strict=True)]  # fmt: skip
