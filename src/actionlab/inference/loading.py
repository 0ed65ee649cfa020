"""Which classifier a prediction uses, one rule for ``actionlab predict`` and the ``inference``
pipeline (no kedro).

``model`` names it: an MLflow model URI (``models:/actionlab-classifier/2``, ``runs:/...``), a
``.pt`` file, or the name of a kept model (``transformer``: ``data/06_models/classifiers/transformer.pt``).
Without one: the registered model (``classification.registered_model_name``, latest version)
when the tracking store has it, else the kept model with the best accuracy in the last
comparison. An MLflow model bundles the SSL encoder it needs; a kept ``.pt`` file does not, so
for SSL features the encoder file is loaded beside it and checked against the digest it recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from actionlab.inference.predictor import PredictError, Predictor
from actionlab.models import FrameEncoder, load_frame_encoder

__all__ = ["best_local", "lineage_ssl_encoder", "load_predictor", "registered_uri"]

BlobLoader = Callable[[], dict]


def best_local(local: Mapping[str, BlobLoader], comparison: pd.DataFrame | None) -> str | None:
    """The kept model with the best accuracy in ``comparison`` (None when nothing matches)."""
    if comparison is None or comparison.empty or "accuracy" not in comparison:
        return None
    for name in comparison.sort_values("accuracy", ascending=False, kind="stable")["model"].astype(str):
        if name in local:
            return name
    return None


def registered_uri(name: str | None) -> str | None:
    """``models:/<name>/latest`` when the current MLflow registry has the model ``name``."""
    if not name:
        return None
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        mlflow.MlflowClient().get_registered_model(name)
    except MlflowException:
        return None
    return f"models:/{name}/latest"


def _from_mlflow(uri: str) -> Predictor:
    import mlflow

    try:
        loaded = mlflow.pyfunc.load_model(uri)
    except Exception as err:  # MLflow raises several types for an unknown model
        raise PredictError(
            f"model {uri}: cannot load this MLflow model ({str(err).splitlines()[0]}); pass a registered "
            "model URI (models:/actionlab-classifier/1), a .pt file or a kept model's name, or train one "
            "with `kedro run --pipelines classification`."
        ) from err
    return loaded.unwrap_python_model().predictor


def load_predictor(
    model: str | None,
    *,
    local: Mapping[str, BlobLoader],
    comparison: pd.DataFrame | None = None,
    registered_model_name: str | None = None,
    ssl_encoder: str | Path | None = None,
) -> Predictor:
    """The :class:`Predictor` of ``model`` (see the module docstring). ``local``: the kept
    models by name (loaders of their blobs); ``ssl_encoder``: the SSL encoder file (or a
    used only by a kept model trained on SSL features."""
    if model is None:
        model = registered_uri(registered_model_name) or best_local(local, comparison)
        if model is None:
            raise PredictError(
                "no trained classifier found: run `kedro run --pipelines classification` in the project "
                "folder first, or name one (a .pt file, a kept model's name or an MLflow model URI)."
            )
    if ":/" in model:
        return _from_mlflow(model)
    if model in local:
        blob = local[model]()
    else:
        path = Path(model)
        if not path.is_file():
            raise PredictError(
                f"model {model}: no such model; pass a .pt file, an MLflow model URI or one of the kept "
                f"models ({', '.join(sorted(local)) or 'none yet: run `kedro run --pipelines classification`'})."
            )
        blob = torch.load(path, map_location="cpu", weights_only=True)
    return Predictor.from_blob(blob, ssl_encoder=lineage_ssl_encoder(blob, ssl_encoder))


def lineage_ssl_encoder(blob: Mapping[str, Any], path: str | Path | None) -> FrameEncoder | None:
    """The SSL encoder file ``path`` loaded when the blob's lineage says ``embedding.encoder=ssl``
    and the file exists (None otherwise: ``from_blob`` then says what is missing)."""
    needs_ssl = ((blob.get("lineage") or {}).get("params") or {}).get("embedding.encoder") == "ssl"
    return load_frame_encoder(path) if needs_ssl and path and Path(path).is_file() else None
