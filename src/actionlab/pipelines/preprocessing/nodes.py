"""Preprocessing nodes: decode, crop, resize and sample every accepted video into a clip array."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from actionlab.keys import params_hash, partition_key
from actionlab.manifest import ACCEPTED, REJECTED
from actionlab.plots.clips import clip_grid_figure
from actionlab.video import VideoError, load_clip

logger = logging.getLogger(__name__)
CLIP_PARAMS = ("strategy", "size", "crop_offset", "num_frames", "step", "max_frames", "threshold")


def _clip_params(params: dict[str, Any]) -> dict[str, Any]:
    # unknown keys and bad values were refused before the run (actionlab.params)
    clip = {k: params[k] for k in CLIP_PARAMS if k in params}
    clip["crop_offset"] = tuple(clip.get("crop_offset", (0.0, 0.0)))
    return clip


def _time(value: Any) -> float | None:
    return None if value is None or pd.isna(value) or value == "" else float(value)


def _decode_one(path: str, start: float | None, end: float | None, clip: dict[str, Any]) -> dict[str, np.ndarray]:
    """One video -> clip arrays; a decode failure becomes an empty clip carrying its reason."""
    size = int(clip.get("size", 128))
    try:
        result = load_clip(path, start=start, end=end, **clip)
        return {
            "frames": result.frames, "indices": result.indices, "times": result.times,
            "error": np.array(""), "warnings": np.array("\n".join(result.warnings)),
        }  # fmt: skip
    except VideoError as err:
        logger.warning("Preprocessing skipped %s: %s", path, err)
        return {
            "frames": np.zeros((0, size, size, 3), np.uint8), "indices": np.zeros(0, np.int64),
            "times": np.zeros(0), "error": np.array(str(err)), "warnings": np.array(""),
        }  # fmt: skip


def plan_clips(manifest: pd.DataFrame, params: dict[str, Any]) -> tuple[dict[str, Callable], pd.DataFrame]:
    """Lazy clip computations keyed by ``<video_id>-<params hash>`` (already stored ones are skipped
    by the dataset), and the clip index that maps each accepted video to its partition."""
    clip = _clip_params(params)
    phash = params_hash(clip)
    accepted = manifest[manifest["status"] == ACCEPTED].copy()
    accepted["clip_key"] = [partition_key(v, phash) for v in accepted["video_id"]]
    jobs = {
        row.clip_key: partial(_decode_one, row.path, _time(row.time_start), _time(row.time_end), clip)
        for row in accepted.itertuples(index=False)
    }
    return jobs, accepted.reset_index(drop=True)


def index_clips(clip_plan: pd.DataFrame, clips: dict[str, Callable]) -> pd.DataFrame:
    """Clip index (03_primary): the planned rows with the stored clip's frame count and status;
    a video that failed to decode is marked rejected with its reason instead of stopping the run."""
    frames, status, errors, warnings = [], [], [], []
    for key in clip_plan["clip_key"]:
        data = clips[key]()
        error = str(data["error"])
        frames.append(int(len(data["frames"])))
        status.append(REJECTED if error else ACCEPTED)
        errors.append(error)
        warnings.append(str(data["warnings"]))
    index = clip_plan.assign(clip_frames=frames, status=status, error=errors, warnings=warnings)
    if not (index["status"] == ACCEPTED).any():
        raise ValueError("No video could be preprocessed; see the errors in the preprocessing report.")
    return index


def report_preprocessing(
    clip_index: pd.DataFrame, clips: dict[str, Callable], params: dict[str, Any]
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
    examples = ok.groupby("label", sort=True).head(1)
    figure = clip_grid_figure(
        {row.label: clips[row.clip_key]()["frames"] for row in examples.itertuples(index=False)},
        columns=int(params.get("preview_frames", 8)),
    )
    return report, metrics, figure
