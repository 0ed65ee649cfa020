"""Embedding nodes: per-frame feature sequences and one embedding vector per clip."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch

from actionlab.encoders import Encoder, build_encoder
from actionlab.keys import params_hash, partition_key
from actionlab.manifest import ACCEPTED
from actionlab.models import FrameEncoder

logger = logging.getLogger(__name__)
TABLE_COLUMNS = ["video_id", "label", "split", "group", "clip_key", "feature_key"]


def _fingerprint(module: torch.nn.Module | None) -> str:
    """Hash of a model's config and weights, so features are recomputed after the encoder is
    retrained or its input / feature settings (e.g. ``roi``, ``mirror``) change."""
    if module is None:
        return ""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(json.dumps(getattr(module, "config", {}), sort_keys=True, default=str).encode())
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _embed_one(encoder: Encoder, load: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    frames = load()["frames"]
    started = time.perf_counter()
    features, embedding = encoder.encode(frames)
    return {
        "frame_features": features.astype(np.float32),
        "embedding": embedding.astype(np.float32),
        "seconds": np.array(time.perf_counter() - started),
        "frames": np.array(len(frames)),
    }


def plan_embeddings(
    clips: dict[str, Callable], clip_index: pd.DataFrame, ssl_encoder: FrameEncoder | None, params: dict[str, Any]
) -> tuple[dict[str, Callable], pd.DataFrame]:
    """Lazy per-clip encodings keyed by ``<video_id>-<hash of parameters and encoder weights>``."""
    name = params["encoder"]
    if name == "ssl" and ssl_encoder is None:
        raise ValueError(
            "embedding.encoder=ssl needs the trained SSL encoder (data/06_models/ssl_encoder.pt), which "
            "does not exist yet: run `kedro run --pipeline ssl_training` first, or pick "
            "embedding.encoder=motion."
        )
    encoder = build_encoder(name, params, ssl_encoder=ssl_encoder if name == "ssl" else None, device=params["device"])
    fhash = params_hash(params, _fingerprint(ssl_encoder) if name == "ssl" else "")
    rows = clip_index[clip_index["status"] == ACCEPTED].copy()
    rows["feature_key"] = [partition_key(v, params_hash(k, fhash)) for v, k in zip(rows["video_id"], rows["clip_key"], strict=True)]
    jobs = {
        row.feature_key: (lambda load=clips[row.clip_key]: _embed_one(encoder, load))
        for row in rows.itertuples(index=False)
    }
    logger.info("Embedding %d clips with encoder %r", len(jobs), name)
    return jobs, rows[TABLE_COLUMNS].reset_index(drop=True)


def collect_embeddings(
    embedding_plan: pd.DataFrame, frame_features: dict[str, Callable]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The clip embedding table (one row per clip, ``embedding`` as a float vector) and throughput."""
    vectors, frames, seconds = [], 0, 0.0
    for key in embedding_plan["feature_key"]:
        data = frame_features[key]()
        vectors.append(data["embedding"])
        frames += int(data["frames"])
        seconds += float(data["seconds"])
    table = embedding_plan.assign(embedding=vectors)
    metrics = {
        "embedding_dim": {"value": float(len(vectors[0])), "step": 0},
        "embedding_frames_per_s": {"value": frames / max(seconds, 1e-9), "step": 0},
    }
    return table, metrics
