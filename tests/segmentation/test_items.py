"""The segmentation item: what it stores (segmented clip + RLE masks) for a backend whose masks
the test knows, window by window, and how it fails."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from actionlab.engine import PartitionStore
from actionlab.segmentation import items as seg_items
from actionlab.segmentation.base import ObjectMask, Segmenter
from actionlab.segmentation.items import (
    read_masks,
    remove_background,
    segment_item,
    segmentation_hash,
)
from actionlab.segmentation.masks import decode_masks
from actionlab.video.clipfile import ClipWriter, read_clip
from actionlab.video.items import load_stored_clip


class BrightSegmenter(Segmenter):
    """Two objects per frame: the bright pixels of the left and of the right half (a backend
    whose answer the test can compute on its own)."""

    name = "bright"

    def __init__(self, drop_last: bool = False) -> None:
        self.drop_last = drop_last

    def stream(self, frames: Iterable[np.ndarray]) -> Iterator[list[ObjectMask]]:
        frames = list(frames) if self.drop_last else frames
        if self.drop_last:
            frames = frames[:-1]
        for frame in frames:
            bright = frame.mean(axis=2) > 128
            left, right = bright.copy(), bright.copy()
            left[:, frame.shape[1] // 2 :] = False
            right[:, : frame.shape[1] // 2] = False
            yield [ObjectMask(o, m, "thing", 0.5) for o, m in enumerate((left, right)) if m.any()]


def _clip(root: Path, n: int = 23, size: int = 32) -> tuple[PartitionStore, np.ndarray]:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    store = PartitionStore(root / "clips", ".h5")
    (root / "clips").mkdir(parents=True)
    with ClipWriter(root / "clips" / "c.h5") as writer:
        writer.append(frames, np.arange(n) * 3, np.arange(n) / 10.0)
    return store, frames


@pytest.fixture
def bright(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seg_items, "build_segmenter", lambda params, device="cpu": BrightSegmenter())


def test_segment_item_stores_filled_frames_and_masks_window_by_window(tmp_path, bright, segmentation_params):
    store, frames = _clip(tmp_path)
    params = {**segmentation_params, "chunk_frames": 5, "background": 7}  # 23 frames: a partial last window
    out = tmp_path / "seg.h5"
    record = segment_item(out, read=partial(load_stored_clip, store, "c"), frames=len(frames),
                          spec={"params": params, "device": "cpu"})  # fmt: skip
    stored = read_clip(out)
    bright_px = frames.mean(axis=3) > 128
    expected = np.where(bright_px[..., None], frames, 7)
    np.testing.assert_array_equal(stored["frames"], expected)
    np.testing.assert_array_equal(stored["indices"], np.arange(len(frames)) * 3)
    np.testing.assert_allclose(stored["times"], np.arange(len(frames)) / 10.0)
    masks = read_masks(out)
    assert set(masks["object_id"]) == {0, 1} and set(masks["label"]) == {"thing"}
    assert np.allclose(masks["score"], 0.5)
    for frame in (0, 4, 5, 22):  # both sides of a window boundary and the last frame
        rows = masks[masks["frame"] == frame]
        union = np.zeros_like(bright_px[frame])
        for mask in decode_masks(rows):
            union |= mask
        np.testing.assert_array_equal(union, bright_px[frame])
    assert record["frames"] == len(frames)
    assert record["objects"] == 2
    assert record["mean_coverage"] == pytest.approx(float(bright_px.mean()))
    assert record["mean_object_frames"] == pytest.approx(masks.groupby("object_id")["frame"].nunique().mean())


def test_a_backends_own_stats_join_the_record(tmp_path, monkeypatch, segmentation_params):
    class Counting(BrightSegmenter):  # numbers of its own, as the SAM 2 backends have
        def stream(self, frames: Iterable[np.ndarray]) -> Iterator[list[ObjectMask]]:
            self.seen, self.keys = 0, []
            for k, objects in enumerate(super().stream(frames)):
                self.seen += 1
                self.keys += [k] if k % 4 == 0 else []
                yield objects

        def stats(self) -> dict[str, float]:
            return {"frames_seen": float(self.seen), "key_frames": float(len(self.keys))}

    store, frames = _clip(tmp_path, n=9)
    monkeypatch.setattr(seg_items, "build_segmenter", lambda params, device="cpu": Counting())
    record = segment_item(tmp_path / "seg.h5", read=partial(load_stored_clip, store, "c"), frames=len(frames),
                          spec={"params": segmentation_params, "device": "cpu"})  # fmt: skip
    assert record["frames_seen"] == 9 and record["key_frames"] == 3
    store = PartitionStore(tmp_path / "items", ".h5")
    store.write_record("k", record)  # the record store takes it (JSON)
    assert store.read_record("k")["key_frames"] == 3


def test_a_backend_that_skips_a_frame_fails_the_item(tmp_path, monkeypatch, segmentation_params):
    store, frames = _clip(tmp_path, n=6)
    monkeypatch.setattr(seg_items, "build_segmenter", lambda params, device="cpu": BrightSegmenter(drop_last=True))
    with pytest.raises(RuntimeError, match="exactly one list per frame"):
        segment_item(tmp_path / "seg.h5", read=partial(load_stored_clip, store, "c"), frames=len(frames),
                     spec={"params": segmentation_params, "device": "cpu"})  # fmt: skip


def test_remove_background_matches_the_stored_clip(tmp_path, bright, segmentation_params):
    store, frames = _clip(tmp_path, n=7)
    params = {**segmentation_params, "background": 0}
    out = tmp_path / "seg.h5"
    segment_item(out, read=partial(load_stored_clip, store, "c"), frames=len(frames), spec={"params": params})
    np.testing.assert_array_equal(remove_background(frames, params), read_clip(out)["frames"])


def test_the_key_changes_with_the_backend_settings_and_the_weights_content(tmp_path, segmentation_params):
    base = segmentation_hash(segmentation_params)
    assert segmentation_hash({**segmentation_params, "report_videos": 3, "device": "cpu"}) == base
    assert segmentation_hash({**segmentation_params, "background": 9}) != base
    weights = tmp_path / "sam2.pt"
    weights.write_bytes(b"one")
    sam2 = {**segmentation_params["sam2"], "checkpoint": str(weights)}  # 1024 px; 512 on CPU
    params = {**segmentation_params, "backend": "sam2_oversegment", "sam2": sam2}
    first = segmentation_hash(params)
    weights.write_bytes(b"two")
    assert segmentation_hash(params) != first
    # SAM 2 at 512 px on a CPU, at 1024 px with bf16 on a GPU: keyed apart, and the kept
    # parameters (the lineage a new video is segmented by) say how they ran
    assert segmentation_hash(params, "cuda") != segmentation_hash(params, "cpu")
    assert segmentation_hash(params, "cuda:1") == segmentation_hash(params, "cuda")
    on_cpu, on_gpu = seg_items.segmentation_params(params, "cpu"), seg_items.segmentation_params(params, "cuda")
    assert (on_cpu["sam2"]["image_size"], on_cpu["sam2"]["cpu_image_size"], on_cpu["sam2"]["bf16"]) == (512, 512, False)
    assert (on_gpu["sam2"]["image_size"], on_gpu["sam2"]["cpu_image_size"], on_gpu["sam2"]["bf16"]) == (1024, 1024, True)
    equal = {**params, "sam2": {**sam2, "cpu_image_size": None, "bf16": False}}  # 1024 everywhere
    assert segmentation_hash(equal, "cuda") == segmentation_hash(equal, "cpu")
    assert segmentation_hash(segmentation_params, "cuda") == base  # motion: no device in its masks
    with pytest.raises(ValueError, match="segmentation.backend='nope'"):
        segmentation_hash({**segmentation_params, "backend": "nope"})
