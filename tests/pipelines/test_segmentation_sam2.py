"""The SAM 2 backends through the real Kedro pipeline (`ingestion,preprocessing,segmentation`) with
random models saved to disk (``actionlab.segmentation.random_models``): a SAM 2 checkpoint read by
the real loader and a tiny Grounding DINO folder. Per backend: every clip segmented, masks that
decode to the clip's frames, the background outside them removed, the backend's own output
stored, stats, videos, MLflow; switching backend recomputes; a missing checkpoint fails first."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import av
import numpy as np
import pandas as pd
import pytest
import torch
from mlflow.tracking import MlflowClient

from actionlab.datasets import ItemStoreDataset
from actionlab.segmentation.base import build_segmenter
from actionlab.segmentation.items import read_masks
from actionlab.segmentation.masks import decode_masks
from actionlab.video.clipfile import read_clip

from .conftest import copy_project, make_project, run_pipelines

pytestmark = pytest.mark.slow

PIPELINES = ["ingestion", "preprocessing", "segmentation"]
PROMPT = "person. ball."
# 6 actions x 1 clip of 16 frames at 64 px; every 2nd frame kept (8), segmented 3 at a time
FRAMES = 8
SMALL: dict[str, Any] = {
    "ingestion": {"synthetic": {"clips_per_action": 1, "incorrect_per_action": 0, "num_actors": 2, "num_frames": 16, "size": 64}, "progress": False},
    "preprocessing": {"size": 64, "step": 2, "max_frames": 12},
    "runtime": {"executor": "sequential", "progress": False},
}  # fmt: skip


def _sam2_params(checkpoint: Path, detector: Path, backend: str) -> dict[str, Any]:
    """``segmentation`` overrides: ``backend`` with the random models, small and on CPU."""
    return {
        "backend": backend,
        "device": "cpu",
        "chunk_frames": 3,
        "sam2": {"checkpoint": str(checkpoint), "image_size": 128, "cpu_image_size": 128, "bf16": False},
        "grounded_sam2": {
            "model_dir": str(detector), "prompt": PROMPT, "box_threshold": 0.1, "text_threshold": 0.25,
            "max_objects": 2, "min_area": 1,
        },
        "sam2_oversegment": {
            "step": 4, "points_per_side": 4, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0,
            "max_masks_per_key_frame": 3, "min_area": 16,
        },
    }  # fmt: skip


def _store(root: Path, name: str) -> Any:
    return ItemStoreDataset(path=str(root / "data" / name), suffix=".h5").load()


def _index(root: Path) -> pd.DataFrame:
    return pd.read_parquet(root / "data/04_feature/segmentation_index.parquet")


def _last_run(root: Path) -> Any:
    """The project's latest MLflow run."""
    client = MlflowClient(tracking_uri=f"sqlite:///{(root / 'mlflow.db').resolve()}")
    experiment = client.get_experiment_by_name("actionlab")
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"])[0]


def _segmented_files(root: Path) -> set[str]:
    return {p.name for p in (root / "data/04_feature/segmented_clips").rglob("*.h5")}


@pytest.fixture(scope="module")
def motion_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small project that ran ingestion, preprocessing and segmentation with the default
    (motion) backend."""
    root = make_project(tmp_path_factory.mktemp("sam2_e2e") / "motion")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        run_pipelines(root, PIPELINES, SMALL)
    return root


def _run_backend(source: Path, root: Path, params: dict[str, Any]) -> tuple[Path, pd.DataFrame, set[str]]:
    """A copy of ``source`` that ran the pipelines with the ``segmentation`` overrides ``params``;
    also the source's index and segmented files (what the run must not reuse)."""
    before, files = _index(source), _segmented_files(source)
    root = copy_project(source, root)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        run_pipelines(root, PIPELINES, {**SMALL, "segmentation": params})
    return root, before, files


@pytest.fixture(scope="module")
def grounded_run(
    motion_project: Path, sam2_checkpoint: Path, tiny_detector_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any], pd.DataFrame, set[str]]:
    params = _sam2_params(sam2_checkpoint, tiny_detector_dir, "grounded_sam2")
    root, before, files = _run_backend(motion_project, tmp_path_factory.mktemp("sam2_e2e") / "grounded", params)
    return root, params, before, files


@pytest.fixture(scope="module")
def overseg_run(
    grounded_run: tuple[Path, dict[str, Any], pd.DataFrame, set[str]],
    sam2_checkpoint: Path,
    tiny_detector_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, Any], pd.DataFrame, set[str]]:
    """The oversegment backend run after the grounded one (in a copy of its project)."""
    params = _sam2_params(sam2_checkpoint, tiny_detector_dir, "sam2_oversegment")
    root, before, files = _run_backend(grounded_run[0], tmp_path_factory.mktemp("sam2_e2e") / "overseg", params)
    return root, params, before, files


def _full_params(overrides: dict[str, Any], segmentation_params: dict[str, Any]) -> dict[str, Any]:
    """conf/base's ``segmentation`` parameters with the run's overrides (as Kedro merges them)."""
    params = copy.deepcopy(segmentation_params)
    for key, value in overrides.items():
        if isinstance(value, dict):
            params[key].update(value)
        else:
            params[key] = value
    return params


def _check_run(
    run: tuple[Path, dict[str, Any], pd.DataFrame, set[str]], segmentation_params: dict[str, Any]
) -> dict[str, pd.DataFrame]:
    """The checks both backends share; returns each clip's mask table by segment key."""
    root, overrides, before, files_before = run
    backend = overrides["backend"]
    clip_index = pd.read_parquet(root / "data/03_primary/clip_index.parquet")
    accepted = clip_index[clip_index["status"] == "accepted"]
    index = _index(root)
    assert len(accepted) == 6 and sorted(index["clip_key"]) == sorted(accepted["clip_key"])
    assert (index["status"] == "accepted").all(), index["error"].tolist()
    # another backend's items are not reused: new keys, new files, and the index records the backend
    assert not set(index["segment_key"]) & set(before["segment_key"])
    assert {f"{k}.h5" for k in index["segment_key"]}.isdisjoint(files_before)
    assert _segmented_files(root) >= files_before  # the other backend's items stay stored
    assert index.attrs["lineage"]["params"]["segmentation.backend"] == backend

    clips, segmented = _store(root, "03_primary/clips"), _store(root, "04_feature/segmented_clips")
    stats = pd.read_csv(root / "data/08_reporting/segmentation_stats.csv")
    assert sorted(stats["video_id"]) == sorted(index["video_id"]) and (stats["status"] == "accepted").all()
    tables = {}
    for row in index.itertuples(index=False):
        raw = read_clip(clips.local_path(row.clip_key))
        seg = read_clip(segmented.local_path(row.segment_key))
        masks = read_masks(segmented.local_path(row.segment_key))
        frames, height, width = raw["frames"].shape[:3]
        assert frames == row.clip_frames == FRAMES and (height, width) == (64, 64)
        np.testing.assert_array_equal(seg["indices"], raw["indices"])
        union = np.zeros((frames, height, width), bool)
        decoded = decode_masks(masks)
        for frame, mask in zip(masks["frame"], decoded, strict=True):
            assert mask.shape == (height, width) and 0 <= frame < frames
            union[frame] |= mask
        assert not masks.duplicated(["frame", "object_id"]).any()  # one mask per object and frame
        np.testing.assert_array_equal(seg["frames"][union], raw["frames"][union])
        assert (seg["frames"][~union] == 0).all()  # segmentation.background: 0
        assert row.mean_coverage == pytest.approx(union.mean())
        assert row.objects == masks["object_id"].nunique()
        assert stats.set_index("video_id").loc[row.video_id, "objects"] == row.objects
        tables[row.segment_key] = masks
    assert sum(len(t) for t in tables.values()) > 0, f"{backend} found nothing in any clip"

    # the stored masks are the backend's own output on the clip's frames (first clip)
    row = index.iloc[0]
    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)  # as the sequential executor ran the items
    segmenter = build_segmenter(_full_params(overrides, segmentation_params), "cpu")
    try:
        direct = list(segmenter.stream(iter(read_clip(clips.local_path(row["clip_key"]))["frames"])))
    finally:
        segmenter.close()
        torch.set_num_threads(threads)
    stored = tables[row["segment_key"]]
    expected = sorted((k, o.object_id, o.label) for k, objects in enumerate(direct) for o in objects)
    assert sorted(zip(stored["frame"], stored["object_id"], stored["label"], strict=True)) == expected
    for (k, oid), mask in zip(zip(stored["frame"], stored["object_id"], strict=True), decode_masks(stored), strict=True):
        np.testing.assert_array_equal(mask, next(o.mask for o in direct[k] if o.object_id == oid))

    # videos: an overlay and a background-removed mp4 per clip (report_videos 12 > 6 clips)
    videos = sorted((root / "data/08_reporting/segmentation/videos").rglob("*.mp4"))
    assert len(videos) == 2 * len(index)
    assert {v.name.split(".")[1] for v in videos} == {"overlay", "segmented"}
    for video in videos[:2]:
        with av.open(str(video)) as container:
            assert sum(1 for _ in container.decode(video=0)) == FRAMES

    # MLflow: the run's segmentation metrics and parameters
    run = _last_run(root)
    assert run.data.metrics["segmentation.clips"] == 6 and run.data.metrics["segmentation.clips_failed"] == 0
    assert run.data.metrics["segmentation.mean_coverage"] == pytest.approx(index["mean_coverage"].mean())
    assert run.data.params["segmentation.backend"] == backend
    assert run.data.params["segmentation.sam2.checkpoint"] == overrides["sam2"]["checkpoint"]
    assert run.data.params["segmentation.sam2.cpu_image_size"] == "128"
    return tables


def test_grounded_sam2_end_to_end(grounded_run, segmentation_params: dict[str, Any]):
    tables = _check_run(grounded_run, segmentation_params)
    masks = pd.concat(tables.values(), ignore_index=True)
    # labels are phrases of the prompt's words (the random detector mixes them), without the
    # tokenizer's special tokens
    words = set(PROMPT.replace(".", " ").split())
    for label in set(masks["label"]):
        assert set(label.replace(".", " ").split()) <= words, label
    assert any(words & set(label.replace(".", " ").split()) for label in masks["label"]), set(masks["label"])
    for table in tables.values():
        assert table.groupby("frame")["object_id"].nunique().max() <= 2  # max_objects
    # the backend's own statistics: detection frames (the first frame at least) and ID switches
    index = _index(grounded_run[0])
    assert (index["detection_frames"] >= 1).all() and (index["id_switches"] >= 0).all()
    run = _last_run(grounded_run[0])
    assert run.data.metrics["segmentation.id_switches"] == index["id_switches"].sum()
    stats = pd.read_csv(grounded_run[0] / "data/08_reporting/segmentation_stats.csv")
    assert {"detection_frames", "id_switches"} <= set(stats.columns)
    params = run.data.params
    assert params["segmentation.grounded_sam2.model_dir"] == grounded_run[1]["grounded_sam2"]["model_dir"]
    assert params["segmentation.grounded_sam2.prompt"] == PROMPT


def test_sam2_oversegment_end_to_end(overseg_run, segmentation_params: dict[str, Any]):
    tables = _check_run(overseg_run, segmentation_params)
    masks = pd.concat(tables.values(), ignore_index=True)
    assert (masks["label"] == "").all()  # automatic masks have no names
    assert (masks["area"] >= 16).all()  # sam2_oversegment.min_area
    index = _index(overseg_run[0])  # key frames 0 and 4 of 8 (step 4); the time budget held
    assert (index["key_frames"] == 2).all() and index["out_of_time_at"].isna().all()
    assert "id_switches" not in index  # no re-detection in this backend
    # the grounded items the run switched from (still stored) have the prompt's labels: not reused
    root, _, before, _ = overseg_run
    assert before.attrs["lineage"]["params"]["segmentation.backend"] == "grounded_sam2"
    segmented = _store(root, "04_feature/segmented_clips")
    labels = {label for key in before["segment_key"] for label in read_masks(segmented.local_path(key))["label"]}
    assert any(set(label.replace(".", " ").split()) & set(PROMPT.replace(".", " ").split()) for label in labels)


def test_a_missing_checkpoint_fails_before_any_clip(
    motion_project: Path, tiny_detector_dir: Path, tmp_path: Path
):
    root = copy_project(motion_project, tmp_path / "project")
    files, index = _segmented_files(root), _index(root)
    params = _sam2_params(Path("unused"), tiny_detector_dir, "sam2_oversegment")
    params["sam2"]["checkpoint"] = None
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        with pytest.raises(Exception, match=r"sam2\.checkpoint is not set"):
            run_pipelines(root, ["segmentation"], {**SMALL, "segmentation": params})
    assert _segmented_files(root) == files  # no clip was segmented
    pd.testing.assert_frame_equal(_index(root), index)
