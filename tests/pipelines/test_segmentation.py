"""The `segmentation` pipeline in the default run (motion backend): one stored segmented clip per
clip with its masks, the background outside them, browser-playable overlay videos, MLflow keys;
and the embedding pipeline on segmented clips (`embedding.input: segmented`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actionlab.datasets import ItemStoreDataset
from actionlab.segmentation.items import read_masks
from actionlab.segmentation.masks import decode_masks
from actionlab.video.clipfile import read_clip
from actionlab.video.probe import probe

from .conftest import FAST_PARAMS, copy_project, run_pipelines

pytestmark = pytest.mark.slow


def _store(root: Path, name: str):
    return ItemStoreDataset(path=str(root / "data" / name), suffix=".h5").load()


def test_every_clip_is_segmented_with_masks_and_the_background_filled(default_project: Path):
    root = default_project
    clip_index = pd.read_parquet(root / "data/03_primary/clip_index.parquet")
    index = pd.read_parquet(root / "data/04_feature/segmentation_index.parquet")
    accepted = clip_index[clip_index["status"] == "accepted"]
    assert sorted(index["clip_key"]) == sorted(accepted["clip_key"])
    assert (index["status"] == "accepted").all()
    assert index["segment_key"].str.startswith(tuple(index["clip_key"])).all()
    clips, segmented = _store(root, "03_primary/clips"), _store(root, "04_feature/segmented_clips")
    covered = []
    for row in index.head(6).itertuples(index=False):
        raw = read_clip(clips.local_path(row.clip_key))
        seg = read_clip(segmented.local_path(row.segment_key))
        masks = read_masks(segmented.local_path(row.segment_key))
        np.testing.assert_array_equal(seg["indices"], raw["indices"])
        assert seg["frames"].shape == raw["frames"].shape
        union = np.zeros(raw["frames"].shape[:3], bool)
        for (frame, mask) in zip(masks["frame"], decode_masks(masks), strict=True):
            union[frame] |= mask
        np.testing.assert_array_equal(seg["frames"][union], raw["frames"][union])
        assert (seg["frames"][~union] == 0).all()  # segmentation.background: 0
        covered.append(union.mean())
        assert row.mean_coverage == pytest.approx(union.mean())
    # the figure is a small part of each frame; motion finds something in most clips
    assert 0.0 < float(np.mean(covered)) < 0.5


def test_reports_videos_and_mlflow(default_project: Path):
    root = default_project
    stats = pd.read_csv(root / "data/08_reporting/segmentation_stats.csv")
    assert {"video_id", "objects", "mean_coverage", "mean_object_frames"} <= set(stats.columns)
    videos = sorted((root / "data/08_reporting/segmentation/videos").rglob("*.mp4"))
    index = pd.read_parquet(root / "data/04_feature/segmentation_index.parquet")
    assert {v.parent.name for v in videos} == set(index["label"])  # one clip per label first
    assert len(videos) == 2 * 12  # report_videos: 12, an overlay and a background-removed video each
    frames = {Path(p).stem: int(n) for p, n in zip(index["path"], index["clip_frames"], strict=True)}
    for video in videos[:4]:
        info = probe(video)
        assert info.codec == "h264" and info.pix_fmt == "yuv420p"  # plays in a browser
        assert info.frames == frames[video.name.split(".")[0]]
    assert (root / "data/08_reporting/segmentation/contact_sheet.png").stat().st_size > 10_000
    with sqlite3.connect(root / "mlflow.db") as db:
        keys = {k for (k,) in db.execute("select distinct key from metrics where key like 'segmentation.%'")}
    assert {"segmentation.clips", "segmentation.mean_coverage", "segmentation.frames_per_s"} <= keys
    artifacts = {p.relative_to(p.parents[3]).as_posix() for p in (root / "mlruns").rglob("*.mp4")}
    assert any(a.startswith("segmentation/videos/") for a in artifacts), sorted(artifacts)[:3]


def test_embedding_reads_the_segmented_clips_when_asked(default_project: Path, tmp_path_factory):
    root = copy_project(default_project, tmp_path_factory.mktemp("segmented") / "project")
    raw = pd.read_parquet(root / "data/04_feature/clip_embeddings.parquet")
    run_pipelines(root, ["embedding"], {"embedding": {**FAST_PARAMS["embedding"], "input": "segmented"}})
    seg = pd.read_parquet(root / "data/04_feature/clip_embeddings.parquet")
    index = pd.read_parquet(root / "data/04_feature/segmentation_index.parquet")
    assert sorted(seg["video_id"]) == sorted(raw["video_id"])
    assert set(seg["segment_key"]) == set(index["segment_key"])
    assert seg["feature_key"].str.startswith(tuple(index["segment_key"])).all()
    merged = raw.merge(seg, on="video_id", suffixes=("_raw", "_seg"))
    diff = [np.abs(a - b).max() for a, b in zip(merged["embedding_raw"], merged["embedding_seg"], strict=True)]
    assert np.median(diff) > 1e-3  # other frames, other features
    lineage = seg.attrs["lineage"]["params"]
    assert lineage["embedding.input"] == "segmented" and lineage["segmentation.backend"] == "motion"
