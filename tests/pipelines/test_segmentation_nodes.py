"""The segmentation nodes when no clip could be segmented: the index and the report record why,
the raw-input embedding does not need them, and the segmented input stops with a clear error."""

from __future__ import annotations

import pandas as pd
import pytest

from actionlab.engine import PartitionStore
from actionlab.manifest import ACCEPTED, REJECTED
from actionlab.pipelines.segmentation.nodes import (
    PLAN_COLUMNS,
    index_segmentation,
    report_segmentation,
)
from actionlab.segmentation.items import clip_sources


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
