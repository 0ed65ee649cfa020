"""Embedding nodes: per-frame feature sequences and one embedding vector per clip."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import torch

from actionlab.encoders import build_encoder
from actionlab.encoders.items import embed_item, embed_items, embedding_key
from actionlab.engine import Batch, Grouped, Item, PartitionStore
from actionlab.keys import module_digest
from actionlab.lineage import with_lineage
from actionlab.models import FrameEncoder
from actionlab.models.frame_encoder import frame_encoder_state
from actionlab.runtime import resolve_device
from actionlab.segmentation.items import clip_sources
from actionlab.video.items import stored_frames

logger = logging.getLogger(__name__)
TABLE_COLUMNS = ["video_id", "label", "split", "group", "clip_key", "segment_key", "feature_key"]


def _fingerprint(module: torch.nn.Module | None) -> str:
    """``module_digest`` of the SSL encoder ("" without one)."""
    return "" if module is None else module_digest(module)


def embed_clips(
    *,
    clip_index: pd.DataFrame,
    clips: PartitionStore,
    segmentation_index: pd.DataFrame | None,
    segmented_clips: PartitionStore,
    ssl_encoder: FrameEncoder | None,
    params: dict[str, Any],
    runtime: dict[str, Any],
) -> tuple[Batch, pd.DataFrame]:
    """One encode item per preprocessed (``embedding.input: raw``) or segmented clip, keyed by
    ``<clip or segmented clip key>-<hash of what changes the features>``; the encoder is built
    here once first, so a bad setting fails before any work."""
    name = params["encoder"]
    if name == "ssl" and ssl_encoder is None:
        raise ValueError(
            "embedding.encoder=ssl needs the trained SSL encoder (data/04_feature/ssl_encoder.pt), which "
            "does not exist yet: run `kedro run --pipelines ssl_training` first, or pick "
            "embedding.encoder=motion."
        )
    ssl = ssl_encoder if name == "ssl" else None
    build_encoder(name, params, ssl_encoder=ssl, device="cpu")  # fails early on bad weights
    fingerprint = _fingerprint(ssl)
    rows, store = clip_sources(clip_index, segmentation_index, clips, segmented_clips, params["input"])
    rows["feature_key"] = [embedding_key(k, params, fingerprint) for k in rows["source_key"]]
    device = resolve_device(params["device"])
    spec = {"params": dict(params), "device": str(device), "weights": fingerprint}
    items = [
        Item(row.feature_key, {"read": partial(stored_frames, store, row.source_key), "spec": spec})
        for row in rows.itertuples(index=False)
    ]
    if device.type == "cuda":  # one GPU: the driver feeds it; worker processes would contend for it
        runtime = {**runtime, "executor": "sequential"}
    logger.info("Embedding %d %s clips with encoder %r on %s", len(items), params["input"], name, device)
    # a group of clips shares forward passes: about batch_size frames (two streams of num_frames)
    group = max(1, int(params["batch_size"]) // (2 * int(params["num_frames"])))
    fn = Grouped(embed_item, embed_items, size=group)
    shared = frame_encoder_state(ssl) if ssl is not None else None
    batch = Batch("embed clips", fn, items, runtime, shared=shared)
    # lineage: the clips', the encoder's (its training parameters) and its digest when it is ssl
    used = {"embedding": params, **({"ssl_encoder": {"digest": fingerprint}} if ssl else {})}
    plan = rows[TABLE_COLUMNS].reset_index(drop=True)
    upstream = [clip_index, *([segmentation_index] if params["input"] == "segmented" else []), *([ssl] if ssl else [])]
    return batch, with_lineage(plan, *upstream, params=used)


def collect_embeddings(
    embedding_plan: pd.DataFrame, frame_features: PartitionStore
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The clip embedding table (one row per embedded clip, ``embedding`` as a float vector) read
    from the items' records, the clips that failed with their reason, and the throughput."""
    records = frame_features.records(embedding_plan["feature_key"])
    done = embedding_plan["feature_key"].isin(list(records))
    failed = embedding_plan[~done].assign(
        error=[frame_features.read_failure(k) or "not embedded" for k in embedding_plan.loc[~done, "feature_key"]]
    )
    if not done.any():
        raise ValueError(f"No clip could be embedded; first reasons:\n{failed['error'].head(5).to_string()}")
    table = embedding_plan[done].reset_index(drop=True)
    kept = [records[k] for k in table["feature_key"]]
    table = table.assign(embedding=[np.asarray(r["embedding"], np.float32) for r in kept])
    frames = sum(int(r["frames"]) for r in kept)
    seconds = sum(float(r["seconds"]) for r in kept)
    metrics = {
        "dim": {"value": float(len(table["embedding"][0])), "step": 0},
        "frames_per_s": {"value": frames / max(seconds, 1e-9), "step": 0},
        "clips_failed": {"value": float(len(failed)), "step": 0},
    }
    return with_lineage(table, embedding_plan), failed.reset_index(drop=True), metrics
