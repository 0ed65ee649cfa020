"""Association of mask tracks into objects (no kedro).

Full-video over-segmentation makes a set of tracks per key frame: masks found on key frame ``k``
and propagated forward and backward over its span. Two tracks are the same object when, on the
frames both cover, their masks overlap with a mean IoU of at least ``iou``; objects are the
connected groups of that relation (scipy's ``DisjointSet``, union-find). Tracks whose largest
mask stays under ``min_area`` pixels are dropped first (small, short-lived masks dominate the cost
and add nothing)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import DisjointSet

from actionlab.segmentation.masks import MASK_COLUMNS, mask_iou


@dataclass
class Track:
    """One propagated mask track: its mask table rows (``actionlab.segmentation.masks``) over the
    frames it covers, and the key frame it started from."""

    key_frame: int
    masks: pd.DataFrame

    def by_frame(self) -> pd.DataFrame:
        return self.masks.set_index("frame", drop=False)


def _same_object(a: Track, b: Track, iou: float) -> bool:
    left, right = a.by_frame(), b.by_frame()
    shared = sorted(set(left.index) & set(right.index))
    if not shared:
        return False
    ious = [float(mask_iou(left.loc[[f]], right.loc[[f]])[0, 0]) for f in shared]
    return float(np.mean(ious)) >= iou


def track_groups(tracks: list[Track], *, iou: float = 0.8, min_area: int = 0) -> list[list[int]]:
    """The objects of ``tracks`` as groups of their indices (union-find of the same-object
    relation), each group sorted, groups in order of their first index; tracks whose largest mask
    is under ``min_area`` pixels (or that are empty) are in no group."""
    if not 0 < iou <= 1:
        raise ValueError(f"iou must be in (0, 1], got {iou}")
    kept = [i for i, t in enumerate(tracks)
            if len(t.masks) and int(t.masks["area"].max()) >= min_area]  # fmt: skip
    groups = DisjointSet(kept)
    for a, i in enumerate(kept):
        for j in kept[a + 1 :]:
            if not groups.connected(i, j) and _same_object(tracks[i], tracks[j], iou):
                groups.merge(i, j)
    return sorted((sorted(members) for members in groups.subsets()), key=lambda g: g[0])


def associate_tracks(tracks: list[Track], *, iou: float = 0.8, min_area: int = 0) -> pd.DataFrame:
    """One mask table for the video: each surviving track's rows with ``object_id`` set to its
    object (0, 1, ... in order of first appearance); on a frame that several tracks of one object
    cover, the mask of the track whose key frame is nearest is kept."""
    rows = []
    for members in track_groups(tracks, iou=iou, min_area=min_area):
        frames = pd.concat([tracks[m].masks.assign(_distance=lambda d, m=m: (d["frame"] - tracks[m].key_frame).abs())
                            for m in members], ignore_index=True)  # fmt: skip
        best = frames.sort_values(["frame", "_distance"], kind="stable").drop_duplicates("frame")
        rows.append(best.drop(columns="_distance"))
    if not rows:
        return pd.DataFrame(columns=MASK_COLUMNS)
    objects = sorted(rows, key=lambda r: int(r["frame"].min()))  # stable: ties keep the subsets' order
    out = pd.concat([r.assign(object_id=k) for k, r in enumerate(objects)], ignore_index=True)
    return out.sort_values(["frame", "object_id"], ignore_index=True)
