"""The embedding stage's per-clip item and its cache key (no kedro).

A clip's features depend on the encoder's name, the settings that encoder uses, the content of
its weights and this module's ``EMBEDDING_VERSION``; never on ``device``, ``batch_size``,
``num_threads`` or another encoder's settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from actionlab.encoders.base import Encoder
from actionlab.encoders.registry import build_encoder
from actionlab.keys import params_hash, weights_hash
from actionlab.models.frame_encoder import frame_encoder_from_state

EMBEDDING_VERSION = "2"  # bump when the features of an unchanged configuration change
POOLING_KEYS = ("num_frames", "small_step", "pooling", "streams")
WEIGHTS_KEYS = {"torchvision": "weights_path", "hf": "path"}  # replaced by their content hash
_ENCODERS: dict[str, Encoder] = {}  # built once per worker process


def feature_params(params: Mapping[str, Any], ssl_fingerprint: str = "") -> dict[str, Any]:
    """What changes the features of the encoder ``params['encoder']``: its own settings, the
    pooling settings and the content hash of its weights (for ``ssl``: ``ssl_fingerprint``)."""
    name = params["encoder"]
    out: dict[str, Any] = {"encoder": name, "version": EMBEDDING_VERSION}
    out.update({k: params[k] for k in POOLING_KEYS})
    if name == "ssl":
        out["weights"] = ssl_fingerprint
    elif name in params:
        own = dict(params[name] or {})
        weights_key = WEIGHTS_KEYS.get(name)
        if weights_key is not None:
            path = own.pop(weights_key, None)
            out["weights"] = _weights(f"embedding.{name}.{weights_key}", path)
        out[name] = own
    return out


def _weights(parameter: str, path: str | None) -> str | None:
    if not path:
        return None
    try:
        return weights_hash(path)
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f"{parameter}={str(path)!r} does not exist; point it at the local weights file or "
            "folder (nothing is downloaded)."
        ) from err


def embedding_key(clip_key: str, params: Mapping[str, Any], ssl_fingerprint: str = "") -> str:
    """Cache key of one clip's features: the clip's own key plus the feature parameters' hash."""
    return f"{clip_key}-{params_hash(feature_params(params, ssl_fingerprint))}"


def _encoder(spec: Mapping[str, Any], ssl_state: dict[str, Any] | None) -> Encoder:
    """The encoder of ``spec``, built once per worker process (``spec`` holds the weights' hash,
    so new weights build a new encoder)."""
    key = params_hash(spec, length=16)
    if key not in _ENCODERS:
        _ENCODERS.clear()  # one encoder per worker at a time
        params = {**spec["params"], "num_threads": None}  # the engine sets threads per worker
        ssl = frame_encoder_from_state(ssl_state) if ssl_state is not None else None
        _ENCODERS[key] = build_encoder(spec["params"]["encoder"], params, ssl_encoder=ssl, device=spec["device"])
    return _ENCODERS[key]


def embed_item(
    out: Path,
    *,
    read: Callable[[], np.ndarray],
    spec: Mapping[str, Any],
    shared: Any = None,
) -> dict[str, Any]:
    """Encode one stored clip: frame features to ``out`` (npz), the embedding in the record.

    ``spec``: the ``embedding`` parameters, the device and the weights' hash; ``shared``: the SSL
    encoder's :func:`~actionlab.models.frame_encoder.frame_encoder_state` when it is used."""
    return embed_items([out], [{"read": read, "spec": spec}], shared=shared)[0]


def embed_items(
    outs: list[Path],
    args: list[dict[str, Any]],
    shared: Any = None,
) -> list[dict[str, Any]]:
    """Encode several stored clips in one call: their frames share the forward passes (GPU
    batches across clips); each clip's features go to its own ``out``."""
    clips = [a["read"]() for a in args]
    encoder = _encoder(args[0]["spec"], shared)
    started = time.perf_counter()
    results = encoder.encode_many(clips)
    seconds = (time.perf_counter() - started) / len(clips)
    records = []
    for out, frames, (features, embedding) in zip(outs, clips, results, strict=True):
        with open(out, "wb") as handle:
            np.savez(handle, frame_features=features.astype(np.float32), embedding=embedding.astype(np.float32))
        records.append({"embedding": embedding.astype(np.float32).tolist(), "frames": len(frames), "seconds": seconds})
    return records
