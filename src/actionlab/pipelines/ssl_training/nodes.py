"""SSL training node: SimSiam pre-training of the frame encoder on unlabelled train-split clips."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from actionlab.engine import PartitionStore
from actionlab.lineage import with_lineage
from actionlab.models import FrameEncoder
from actionlab.models.data import ClipWindows
from actionlab.models.ssl_train import resolve_config, train_simsiam
from actionlab.plots.training import history_figure
from actionlab.segmentation.items import clip_sources
from actionlab.video.items import stored_frames

logger = logging.getLogger(__name__)
RUN_KEYS = ("seed", "device", "splits")  # the rest of the group is the training config


def train_ssl_encoder(
    *, clips: PartitionStore, clip_index: pd.DataFrame, segmentation_index: pd.DataFrame | None,
    segmented_clips: PartitionStore, params: dict[str, Any], embedding_input: str,
) -> tuple[FrameEncoder, pd.DataFrame, dict[str, Any], Figure]:  # fmt: skip
    """Train on windows streamed from the stored clips of ``splits`` (one clip in memory per
    loader worker), raw or segmented as ``embedding.input`` says (the encoder learns from the
    frames it will encode); return the encoder, the per-epoch history, its MLflow histories and
    plot."""
    sources, store = clip_sources(clip_index, segmentation_index, clips, segmented_clips, embedding_input)
    rows = sources[sources["split"].isin(params["splits"])]
    if rows.empty:
        raise ValueError(
            f"ssl_training.splits={list(params['splits'])} selects no preprocessed clip; "
            f"the clip index has splits {sorted(clip_index['split'].unique())}."
        )
    config = resolve_config({k: v for k, v in params.items() if k not in RUN_KEYS})
    data = ClipWindows(
        list(rows["source_key"]), partial(stored_frames, store), config,
        seed=params["seed"], lengths=rows["clip_frames"].astype(int).tolist(),
    )  # fmt: skip
    logger.info("SSL training on %d samples per epoch from %d clips", data.num_samples, len(rows))
    encoder, history = train_simsiam(data, config=config, device=params["device"], seed=params["seed"])
    metrics = {
        name: [{"value": float(v), "step": int(e)} for e, v in zip(history["epoch"], history[name], strict=True)]
        for name in ("loss", "collapse_std", "lr")
    }
    ideal = 1.0 / np.sqrt(int(params["proj_dim"]))
    figure = history_figure(
        history, metrics=("loss", "collapse_std"),
        title=f"SimSiam: loss, and collapse indicator (healthy ~ 1/sqrt(d) = {ideal:.3f}, collapse -> 0)",
    )  # fmt: skip
    upstream = [clip_index, *([segmentation_index] if embedding_input == "segmented" else [])]
    used = {"ssl_training": params, "embedding": {"input": embedding_input}}
    with_lineage(encoder, *upstream, params=used)  # saved with the encoder
    return encoder, history, metrics, figure
