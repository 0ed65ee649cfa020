"""COCO RLE mask tables round-trip exactly; IoU on RLE equals IoU on pixels; tracks from key
frames are associated into objects by union-find on mean IoU, small tracks dropped."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from actionlab.segmentation import Track, associate_tracks, decode_masks, encode_masks, mask_iou


def _box(y0: int, x0: int, size: int, shape: tuple[int, int] = (40, 50)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[y0 : y0 + size, x0 : x0 + size] = True
    return mask


def test_rle_round_trip_is_exact():
    rng = np.random.default_rng(0)
    masks = [rng.random((33, 47)) > 0.6 for _ in range(4)]
    table = encode_masks({"frame": i // 2, "object_id": i % 2, "mask": m, "label": "person", "score": 0.5}
                         for i, m in enumerate(masks))  # fmt: skip
    assert list(table["area"]) == [int(m.sum()) for m in masks]
    for decoded, original in zip(decode_masks(table), masks, strict=True):
        np.testing.assert_array_equal(decoded, original)
    again = pd.read_json(io.StringIO(table.to_json(orient="records")), orient="records")  # survives a text format
    np.testing.assert_array_equal(decode_masks(again)[3], masks[3])


def test_iou_matches_pixels():
    a, b = _box(5, 5, 10), _box(8, 9, 10)
    table = encode_masks([{"frame": 0, "object_id": 0, "mask": a}, {"frame": 0, "object_id": 1, "mask": b}])
    expected = (a & b).sum() / (a | b).sum()
    iou = mask_iou(table, table)
    assert iou[0, 1] == pytest.approx(expected) and iou[0, 0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="different sizes"):
        mask_iou(table, encode_masks([{"frame": 0, "object_id": 0, "mask": np.ones((3, 3), bool)}]))
    with pytest.raises(ValueError, match="2-D"):
        encode_masks([{"frame": 0, "object_id": 0, "mask": np.ones((2, 3, 3), bool)}])


def _track(key: int, frames: range, y0: int, x0: int, size: int, *, shift: int = 0) -> Track:
    return Track(key, encode_masks({"frame": f, "object_id": 0, "mask": _box(y0, x0 + shift * (f - key), size)}
                                   for f in frames))  # fmt: skip


def test_tracks_of_one_object_merge_and_others_stay_apart():
    # object A moves right 1 px per frame, found again on key frames 0 and 5 (overlapping spans);
    # object B sits still and is found on key frame 5 only; a 2x2 speck is dropped by min_area
    a0 = _track(0, range(0, 8), 5, 2, 12, shift=1)
    a5 = _track(5, range(1, 10), 5, 8, 12, shift=1)  # 1 px right of a0's masks: IoU 0.85
    b5 = _track(5, range(3, 10), 25, 30, 10)
    speck = _track(5, range(5, 7), 0, 45, 2)
    out = associate_tracks([a0, b5, a5, speck], iou=0.8, min_area=10)
    assert sorted(out["object_id"].unique()) == [0, 1]
    first = out[out["object_id"] == 0]
    assert first["frame"].tolist() == list(range(10))  # A: the union of both spans, once per frame
    # on shared frames the mask comes from the nearer key frame: frame 4 -> key 5, frame 2 -> key 0
    (frame4,) = decode_masks(first[first["frame"] == 4])
    np.testing.assert_array_equal(frame4, _box(5, 8 - 1, 12))
    (frame2,) = decode_masks(first[first["frame"] == 2])
    np.testing.assert_array_equal(frame2, _box(5, 2 + 2, 12))
    assert out[out["object_id"] == 1]["frame"].tolist() == list(range(3, 10))


def test_overlap_below_the_threshold_keeps_tracks_apart():
    a = _track(0, range(0, 5), 5, 5, 10)
    b = _track(2, range(2, 7), 5, 9, 10)  # 6x10 of 14x10: IoU 0.43
    assert associate_tracks([a, b], iou=0.8)["object_id"].nunique() == 2
    assert associate_tracks([a, b], iou=0.4)["object_id"].nunique() == 1
    with pytest.raises(ValueError, match="iou"):
        associate_tracks([a], iou=0.0)
    empty = associate_tracks([a], min_area=1000)  # every track too small
    assert empty.empty and list(empty.columns) == list(a.masks.columns)
