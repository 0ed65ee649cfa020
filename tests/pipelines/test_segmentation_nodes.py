"""The segmentation nodes when no clip could be segmented: the index and the report record why,
the raw-input embedding does not need them, and the segmented input stops with a clear error."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest

from actionlab.engine import PartitionStore
from actionlab.manifest import ACCEPTED, REJECTED
from actionlab.pipelines.segmentation.nodes import (
    PLAN_COLUMNS,
    index_segmentation,
    report_segmentation,
)
from actionlab.segmentation.items import clip_sources, segment_item
from actionlab.video.clipfile import ClipWriter
from actionlab.video.items import load_stored_clip


def _plan() -> pd.DataFrame:
    rows = [
        {"video_id": f"v{i}", "path": f"/videos/wave/{i}.mp4", "label": "wave", "split": "train", "group": "",
         "clip_key": f"c{i}", "clip_frames": 16, "segment_key": f"c{i}-abc"}
        for i in range(3)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


def test_no_clip_segmented_is_recorded_not_fatal_and_segmented_input_says_so(tmp_path, segmentation_params):
    plan = _plan()
    store = PartitionStore(tmp_path / "segmented", ".h5")
    store.write_failure("c0-abc", "VideoError: c0: corrupt frame 3")
    index = index_segmentation(plan, store)
    assert (index["status"] == REJECTED).all()
    assert index["error"].tolist() == ["VideoError: c0: corrupt frame 3", "not segmented", "not segmented"]

    clips = PartitionStore(tmp_path / "clips", ".h5")
    stats, metrics, figure, videos = report_segmentation(index, clips, store, segmentation_params)
    assert len(stats) == 3 and stats["error"].iloc[0].startswith("VideoError")
    assert metrics["clips"]["value"] == 0 and metrics["clips_failed"]["value"] == 3
    assert videos == {} and figure is not None

    clip_index = plan[["video_id", "path", "label", "split", "group", "clip_key", "clip_frames"]].assign(status=ACCEPTED)
    rows, source = clip_sources(clip_index, index, clips, store, "raw")  # raw input: unaffected
    assert len(rows) == 3 and source is clips
    with pytest.raises(ValueError, match=r"embedding\.input=segmented: no clip of clip_index was segmented"):
        clip_sources(clip_index, index, clips, store, "segmented")


def test_two_clips_of_one_video_get_a_report_video_each(tmp_path, segmentation_params):
    frames = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    (tmp_path / "clips").mkdir()
    with ClipWriter(tmp_path / "clips" / "c.h5") as writer:
        writer.append(frames, np.arange(6), np.arange(6) / 10.0)
    clips, segmented = PartitionStore(tmp_path / "clips", ".h5"), PartitionStore(tmp_path / "segmented", ".h5")
    (tmp_path / "segmented").mkdir()
    spec = {"params": segmentation_params, "device": "cpu"}
    record = segment_item(tmp_path / "segmented" / "c-abc.h5", read=partial(load_stored_clip, clips, "c"), frames=6, spec=spec)
    segmented.write_record("c-abc", record)
    plan = _plan().iloc[:2].assign(path="/videos/wave/0.mp4", clip_key="c", segment_key="c-abc", clip_frames=6)
    index = index_segmentation(plan, segmented)
    _, metrics, _, videos = report_segmentation(index, clips, segmented, segmentation_params)
    assert metrics["clips"]["value"] == 2
    assert sorted(videos) == ["wave/0-v1.overlay", "wave/0-v1.segmented", "wave/0.overlay", "wave/0.segmented"]
