"""SSL training nodes: SimSiam pre-training of the frame encoder on unlabelled train-split frames."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from actionlab.engine import PartitionStore
from actionlab.manifest import ACCEPTED
from actionlab.models import FrameEncoder
from actionlab.models.ssl_train import sample_windows, train_simsiam
from actionlab.plots.training import history_figure
from actionlab.video.items import stored_frames

logger = logging.getLogger(__name__)
RUN_KEYS = ("seed", "device", "splits")  # the rest of the group is the training config


def _config(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in RUN_KEYS}


def sample_training_frames(
    clips: PartitionStore, clip_index: pd.DataFrame, params: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Frames (or frame windows for the temporal input modes) from the clips of ``splits``."""
    rows = clip_index[(clip_index["status"] == ACCEPTED) & clip_index["split"].isin(params["splits"])]
    if rows.empty:
        raise ValueError(
            f"ssl_training.splits={list(params['splits'])} selects no preprocessed clip; "
            f"the clip index has splits {sorted(clip_index['split'].unique())}."
        )
    # one clip in memory at a time: only the sampled frames are kept
    frames = (stored_frames(clips, k) for k in rows["clip_key"])
    windows = sample_windows(frames, _config(params), seed=params["seed"])
    logger.info("SSL training on %d samples from %d clips", len(windows), len(rows))
    return {"frames": windows}


def train_ssl_encoder(
    training_frames: dict[str, np.ndarray], params: dict[str, Any]
) -> tuple[FrameEncoder, pd.DataFrame, dict[str, Any], Figure]:
    """Train; return the encoder, the per-epoch history, its MLflow metric histories and plot."""
    encoder, history = train_simsiam(
        training_frames["frames"], config=_config(params), device=params["device"], seed=params["seed"]
    )
    metrics = {
        name: [{"value": float(v), "step": int(e)} for e, v in zip(history["epoch"], history[name], strict=True)]
        for name in ("loss", "collapse_std", "lr")
    }
    ideal = 1.0 / np.sqrt(int(params["proj_dim"]))
    figure = history_figure(
        history, metrics=("loss", "collapse_std"),
        title=f"SimSiam: loss, and collapse indicator (healthy ~ 1/sqrt(d) = {ideal:.3f}, collapse -> 0)",
    )  # fmt: skip
    return encoder, history, metrics, figure
