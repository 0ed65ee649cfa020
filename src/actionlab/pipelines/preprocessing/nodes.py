"""Preprocessing nodes: decode, crop, resize and sample every accepted video into a clip file."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from actionlab.engine import Batch, Item, PartitionStore
from actionlab.keys import params_hash, partition_key
from actionlab.lineage import with_lineage
from actionlab.manifest import ACCEPTED, REJECTED
from actionlab.plots.clips import clip_grid_figure
from actionlab.video.items import CLIP_VERSION, clip_item, sampled_frames

logger = logging.getLogger(__name__)
CLIP_PARAMS = ("strategy", "size", "crop_offset", "num_frames", "step", "max_frames", "threshold")


def _clip_params(params: dict[str, Any]) -> dict[str, Any]:
    clip = {k: params[k] for k in CLIP_PARAMS if k in params}
    clip["crop_offset"] = tuple(clip.get("crop_offset", (0.0, 0.0)))
    return clip


def _time(value: Any) -> float | None:
    return None if value is None or pd.isna(value) or value == "" else float(value)


def decode_videos(
    manifest: pd.DataFrame, params: dict[str, Any], runtime: dict[str, Any]
) -> tuple[Batch, pd.DataFrame]:
    """One decode item per accepted video, keyed by ``<video_id>-<hash of the clip parameters>``
    (items already stored are skipped by the engine), and the plan that maps videos to keys."""
    clip = _clip_params(params)
    phash = params_hash(clip, CLIP_VERSION)
    accepted = manifest[manifest["status"] == ACCEPTED].copy()
    accepted["clip_key"] = [partition_key(v, phash) for v in accepted["video_id"]]
    items = [
        Item(row.clip_key, {"path": row.path, "start": _time(row.time_start), "end": _time(row.time_end), "clip": clip})
        for row in accepted.itertuples(index=False)
    ]  # fmt: skip
    plan = with_lineage(accepted.reset_index(drop=True), manifest, params={"preprocessing": params})
    return Batch("decode videos", clip_item, items, runtime), plan


def index_clips(clip_plan: pd.DataFrame, clips: PartitionStore) -> pd.DataFrame:
    """Clip index (03_primary) from the items' records, without opening a clip: frame count,
    status, and the reason of a video that failed to decode (it is retried on the next run)."""
    records = clips.records(clip_plan["clip_key"])
    frames, status, errors, warnings = [], [], [], []
    for row in clip_plan.itertuples(index=False):
        record = records.get(row.clip_key)
        earlier = [w for w in str(getattr(row, "warnings", "") or "").split("\n") if w]
        if record is None:
            frames.append(0)
            status.append(REJECTED)
            errors.append(clips.read_failure(row.clip_key) or "not preprocessed")
            warnings.append("\n".join(earlier))
            continue
        frames.append(int(record["frames"]))
        status.append(ACCEPTED)
        errors.append("")
        warnings.append("\n".join(earlier + list(record.get("warnings", []))))
    index = clip_plan.assign(clip_frames=frames, status=status, error=errors, warnings=warnings)
    if not (index["status"] == ACCEPTED).any():
        raise ValueError("No video could be preprocessed; see the errors in the preprocessing report.")
    return with_lineage(index, clip_plan)


def report_preprocessing(
    clip_index: pd.DataFrame, clips: PartitionStore, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any], Any]:
    """Failures and decode warnings, counts for MLflow, and a grid of sampled frames per label."""
    problems = clip_index[(clip_index["status"] != ACCEPTED) | (clip_index["warnings"] != "")]
    report = problems[["video_id", "path", "label", "status", "error", "warnings"]].reset_index(drop=True)
    ok = clip_index[clip_index["status"] == ACCEPTED]
    metrics = {
        "clips": {"value": float(len(ok)), "step": 0},
        "clips_failed": {"value": float(len(clip_index) - len(ok)), "step": 0},
        "mean_clip_frames": {"value": float(ok["clip_frames"].mean()), "step": 0},
    }
    columns = int(params.get("preview_frames", 8))
    examples = ok.groupby("label", sort=True).head(1)
    figure = clip_grid_figure(
        {row.label: sampled_frames(clips, row.clip_key, row.clip_frames, columns) for row in examples.itertuples(index=False)},
        columns=columns,
    )  # fmt: skip
    return report, metrics, figure

