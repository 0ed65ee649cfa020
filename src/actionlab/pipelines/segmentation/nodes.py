"""Segmentation nodes: masks of the moving people (or prompted objects) in every preprocessed
clip, the background-removed clips the embedding pipeline can use, and what a user looks at."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from actionlab.engine import Batch, Item, PartitionStore
from actionlab.keys import partition_key
from actionlab.lineage import with_lineage
from actionlab.manifest import ACCEPTED, REJECTED
from actionlab.plots.clips import clip_grid_figure
from actionlab.runtime import resolve_device
from actionlab.segmentation.base import build_segmenter
from actionlab.segmentation.items import (
    read_masks,
    segment_item,
    segmentation_hash,
    segmentation_params,
)
from actionlab.segmentation.render import MaskVideo, fps_of
from actionlab.segmentation.sam2_models import release_models
from actionlab.video.items import load_stored_clip

logger = logging.getLogger(__name__)
PLAN_COLUMNS = ["video_id", "path", "label", "split", "group", "clip_key", "clip_frames", "segment_key"]
STAT_COLUMNS = ["objects", "mean_object_frames", "mean_coverage", "empty_frames", "seconds"]
#: a backend's own per-clip numbers (``Segmenter.stats``), columns when the backend gives them
BACKEND_STAT_COLUMNS = ["detection_frames", "id_switches", "key_frames", "out_of_time_at"]


def segment_clips(
    clip_index: pd.DataFrame, clips: PartitionStore, params: dict[str, Any], runtime: dict[str, Any]
) -> tuple[Batch, pd.DataFrame]:
    """One segmentation item per preprocessed clip, keyed by ``<clip key>-<hash of the backend's
    parameters and weights>``; the backend is built here once first, so missing weights or a bad
    setting fail before any work."""
    device = resolve_device(params["device"])
    build_segmenter(params, str(device)).close()
    on_gpu = device.type == "cuda" and params["backend"] != "motion"  # motion never uses torch
    if not on_gpu:  # the items load their own models in the workers: none held in this process
        release_models()
    used = segmentation_params(params, str(device))
    phash = segmentation_hash(params, str(device))
    rows = clip_index[clip_index["status"] == ACCEPTED].copy()
    rows["segment_key"] = [partition_key(k, phash) for k in rows["clip_key"]]
    spec = {"params": used, "device": str(device)}
    items = [
        Item(row.segment_key, {"read": partial(load_stored_clip, clips, row.clip_key), "frames": int(row.clip_frames), "spec": spec})
        for row in rows.itertuples(index=False)
    ]  # fmt: skip
    if on_gpu:  # one GPU: the driver feeds it (with the models loaded above); workers would contend
        runtime = {**runtime, "executor": "sequential"}
    logger.info("Segmenting %d clips with the %r backend on %s", len(items), params["backend"], device)
    plan = rows[PLAN_COLUMNS].reset_index(drop=True)
    return Batch("segment clips", segment_item, items, runtime), with_lineage(plan, clip_index, params={"segmentation": used})


def index_segmentation(segmentation_plan: pd.DataFrame, segmented_clips: PartitionStore) -> pd.DataFrame:
    """The segmented clip index (04_feature) from the items' records: status, the reason of a clip
    that failed (it is retried on the next run) and the per-clip statistics."""
    records = segmented_clips.records(segmentation_plan["segment_key"])
    given = {k for record in records.values() if record for k in record}
    columns = STAT_COLUMNS + [c for c in BACKEND_STAT_COLUMNS if c in given]
    status, errors, stats = [], [], {c: [] for c in columns}
    for key in segmentation_plan["segment_key"]:
        record = records.get(key)
        status.append(ACCEPTED if record else REJECTED)
        errors.append("" if record else segmented_clips.read_failure(key) or "not segmented")
        for column in columns:
            stats[column].append(float(record.get(column, float("nan"))) if record else float("nan"))
    index = segmentation_plan.assign(status=status, error=errors, **stats)
    if len(index) and not (index["status"] == ACCEPTED).any():  # raw embeddings do not need them
        logger.error("No clip could be segmented; first reasons:\n%s", index["error"].head(5).to_string())
    return with_lineage(index, segmentation_plan)


def _report_rows(index: pd.DataFrame, count: int | None) -> pd.DataFrame:
    """The clips whose videos the report writes: one per label first, then the others in order."""
    ok = index[index["status"] == ACCEPTED].reset_index(drop=True)
    rank = ok.groupby("label", sort=False).cumcount()
    ordered = ok.assign(_rank=rank).sort_values(["_rank"], kind="stable").drop(columns="_rank")
    return ordered if count is None else ordered.head(int(count))


def _name(row: Any) -> str:
    stem = str(row.path).replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return f"{row.label or 'unlabelled'}/{stem}"


def report_segmentation(
    segmentation_index: pd.DataFrame, clips: PartitionStore, segmented_clips: PartitionStore, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any], Figure, dict[str, MaskVideo]]:
    """Per-clip statistics, MLflow metrics, a contact sheet of overlay frames, and an overlay and a
    background-removed video per reported clip (``segmentation.report_videos``)."""
    extra = [c for c in BACKEND_STAT_COLUMNS if c in segmentation_index.columns]
    columns = ["video_id", "path", "label", "split", "status", "error", *STAT_COLUMNS, *extra]
    stats = segmentation_index[columns].reset_index(drop=True)
    ok = stats[stats["status"] == ACCEPTED]
    frames = float(segmentation_index.loc[ok.index, "clip_frames"].sum())
    metrics = {
        "clips": {"value": float(len(ok)), "step": 0},
        "clips_failed": {"value": float(len(stats) - len(ok)), "step": 0},
        "mean_coverage": {"value": float(ok["mean_coverage"].mean()), "step": 0},
        "mean_objects": {"value": float(ok["objects"].mean()), "step": 0},
        "frames_per_s": {"value": frames / max(float(ok["seconds"].sum()), 1e-9), "step": 0},
    }
    if "id_switches" in ok:  # re-detections that took a new ID over a tracked object, all clips
        metrics["id_switches"] = {"value": float(ok["id_switches"].sum()), "step": 0}
    videos: dict[str, MaskVideo] = {}
    sheet: dict[str, list] = {}
    for row in _report_rows(segmentation_index, params["report_videos"]).itertuples(index=False):
        name = _name(row)
        if f"{name}.overlay" in videos:  # two clips of one video (or same-named files): keep both
            name = f"{name}-{row.video_id}"
        raw = partial(load_stored_clip, clips, row.clip_key)
        segmented = partial(load_stored_clip, segmented_clips, row.segment_key)
        fps = fps_of(raw(0, min(int(row.clip_frames), 64))["times"])
        local = segmented_clips.local_path(row.segment_key)
        with (open(local, "rb") if local else segmented_clips.open(row.segment_key)) as handle:
            masks = read_masks(handle)
        overlay = MaskVideo(raw, int(row.clip_frames), fps, masks, chunk=int(params["chunk_frames"]))
        videos[f"{name}.overlay"] = overlay
        videos[f"{name}.segmented"] = MaskVideo(segmented, int(row.clip_frames), fps, chunk=int(params["chunk_frames"]))
        if len(sheet) < 8:
            sheet[name] = overlay.sample(int(params["contact_sheet_frames"]))
    figure = clip_grid_figure(
        {k: v for k, v in sheet.items()}, columns=int(params["contact_sheet_frames"]),
        title=f"Segmentation ({params['backend']}): objects coloured by ID",
    )  # fmt: skip
    return stats, metrics, figure, videos
