"""Stable object IDs across re-detections (no kedro).

On a detection frame, each new detection takes the ID of the tracked object whose mask on that
frame it overlaps most, when that IoU is at least ``iou`` (each tracked object matched at most
once, best pairs first); otherwise it gets a new ID. Tracked objects no detection matched keep
their ID and their tracked mask."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def iou_matrix(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> np.ndarray:
    """IoU of every (H, W) bool mask of ``a`` with every mask of ``b`` (``len(a) x len(b)``); two
    empty masks have IoU 0."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    left = np.stack([np.asarray(m, bool).reshape(-1) for m in a]).astype(np.float32)
    right = np.stack([np.asarray(m, bool).reshape(-1) for m in b]).astype(np.float32)
    inter = left @ right.T
    union = left.sum(1)[:, None] + right.sum(1)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0).astype(np.float64)


class IdAssigner:
    """Hands out object IDs: ``assign`` matches a detection frame's new masks to the tracked
    masks on that frame by IoU >= ``iou``; unmatched detections get fresh IDs (0, 1, ...)."""

    def __init__(self, *, iou: float) -> None:
        if not 0 < iou <= 1:
            raise ValueError(f"grounded_sam2.reid_iou: expected a number in (0, 1], got {iou}")
        self.iou = float(iou)
        self.next_id = 0

    def new_id(self) -> int:
        """A fresh object ID."""
        self.next_id += 1
        return self.next_id - 1

    def assign(
        self, detections: Sequence[np.ndarray], tracked: Mapping[int, np.ndarray]
    ) -> list[int]:
        """The object ID of each detection mask, in order: the ID of the tracked mask it overlaps
        with IoU >= ``iou`` (greedy, best pairs first, one detection per tracked object), else new."""
        ids = list(tracked)
        ious = iou_matrix(detections, [tracked[i] for i in ids])
        out: list[int | None] = [None] * len(detections)
        taken: set[int] = set()
        for flat in np.argsort(-ious, axis=None, kind="stable"):
            d, t = np.unravel_index(int(flat), ious.shape)
            if ious[d, t] < self.iou:
                break
            if out[d] is None and t not in taken:
                out[d] = ids[t]
                taken.add(int(t))
        return [self.new_id() if oid is None else oid for oid in out]
