"""Binary masks per frame and object stored as COCO run-length encoding (pycocotools), one table
row per (frame, object): ``frame``, ``object_id``, ``label`` (the prompt phrase, or empty),
``score``, ``height``, ``width``, ``counts`` (the compressed RLE string) and ``area``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pycocotools import mask as coco_mask

MASK_COLUMNS = ["frame", "object_id", "label", "score", "height", "width", "counts", "area"]


def _check(mask: np.ndarray, where: str) -> np.ndarray:
    if mask.ndim != 2:
        raise ValueError(f"{where}: a mask is a 2-D (height, width) array, got shape {mask.shape}")
    return np.asfortranarray(mask.astype(np.uint8, copy=False) > 0, dtype=np.uint8)


def encode_masks(items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A mask table from items with ``frame``, ``object_id``, ``mask`` (2-D bool/0-1 array) and
    optionally ``label`` and ``score``."""
    rows = []
    for item in items:
        mask = _check(np.asarray(item["mask"]), f"frame {item['frame']}, object {item['object_id']}")
        rle = coco_mask.encode(mask)
        rows.append({
            "frame": int(item["frame"]), "object_id": int(item["object_id"]), "label": str(item.get("label", "")),
            "score": float(item.get("score", 1.0)), "height": int(mask.shape[0]), "width": int(mask.shape[1]),
            "counts": rle["counts"].decode("ascii"), "area": int(coco_mask.area(rle)),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=MASK_COLUMNS).sort_values(["frame", "object_id"], ignore_index=True)


def _rle(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"size": [int(row["height"]), int(row["width"])], "counts": str(row["counts"]).encode("ascii")}


def decode_masks(table: pd.DataFrame) -> list[np.ndarray]:
    """The bool masks of a mask table's rows, in row order."""
    return [coco_mask.decode(_rle(row)).astype(bool) for row in table.to_dict("records")]


def mask_iou(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Intersection over union of every row of ``a`` with every row of ``b`` (``len(a) x len(b)``),
    computed on the run-length encodings; masks of different sizes are an error."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    sizes = {(int(h), int(w)) for h, w in zip([*a["height"], *b["height"]], [*a["width"], *b["width"]], strict=True)}
    if len(sizes) != 1:
        raise ValueError(f"masks of different sizes cannot be compared: {sorted(sizes)}")
    left = [_rle(r) for r in a.to_dict("records")]
    right = [_rle(r) for r in b.to_dict("records")]
    return np.asarray(coco_mask.iou(left, right, [0] * len(right)), np.float64).reshape(len(a), len(b))
