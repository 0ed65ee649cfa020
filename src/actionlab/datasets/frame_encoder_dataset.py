"""The trained frame encoder (config + state dict + lineage), loaded with
``torch.load(weights_only=True)``, and logged as an MLflow model when a run is active."""

from __future__ import annotations

import copy
from importlib.metadata import version
from pathlib import Path, PurePosixPath
from typing import Any

import mlflow
import numpy as np
from kedro.io import AbstractDataset

from actionlab.engine import atomic_path
from actionlab.lineage import lineage_of
from actionlab.models import FrameEncoder, load_frame_encoder, save_frame_encoder
from actionlab.models.frame_encoder import FrameFeatures, input_channels


class FrameEncoderDataset(AbstractDataset[FrameEncoder, FrameEncoder | None]):
    """Saves a ``FrameEncoder``; loading a file that does not exist yet returns ``None`` so that
    pipelines which only need the encoder for ``embedding.encoder=ssl`` can run without it; the
    node that needs it raises the error that says how to train it.

    ``mlflow_model`` (optional, e.g. ``{name: ssl_encoder, registered_model_name: ...}``): on
    save, while an MLflow run is active, the encoder is also logged as an MLflow model under that
    name (and registered; see ``log_frame_encoder``). The file stays what the pipelines read.
    """

    def __init__(
        self, filepath: str, mlflow_model: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        self._filepath = PurePosixPath(filepath)
        self._mlflow_model = dict(mlflow_model or {})
        self.metadata = metadata

    def load(self) -> FrameEncoder | None:
        path = Path(self._filepath)
        return load_frame_encoder(path) if path.is_file() else None

    def save(self, data: FrameEncoder) -> None:
        with atomic_path(self._filepath) as tmp:  # a kill never leaves a half-written model
            save_frame_encoder(data, tmp)
        if self._mlflow_model and mlflow.active_run() is not None:
            log_frame_encoder(data, **self._mlflow_model)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "mlflow_model": self._mlflow_model}


def log_frame_encoder(encoder: FrameEncoder, name: str, **log_model_kwargs: Any) -> Any:
    """Log ``encoder`` in the active MLflow run with ``mlflow.pytorch`` in MLflow's safe ``pt2``
    format (``torch.export``, no pickle): ``mlflow.pytorch.load_model`` gives a module mapping
    prepared frames (B, C, h, w), as ``FrameEncoder.prepare`` makes them, to the per-frame
    features the embedding stage uses (``FrameEncoder.features``), without this package. The
    model's params are the encoder's lineage (training parameters, data), its metadata the
    config that rebuilds and prepares for it."""
    # a CPU copy: the caller's encoder stays on its device and in its mode
    size, channels = encoder.config["input_size"], input_channels(encoder.config["input_mode"])
    # two frames: torch.export keeps a batch dimension of 1 static
    example = np.random.default_rng(0).standard_normal((2, channels, size, size)).astype(np.float32)
    params = {k: str(v) for k, v in lineage_of(encoder)["params"].items()}
    return mlflow.pytorch.log_model(
        FrameFeatures(copy.deepcopy(encoder).cpu().eval()), name=name, input_example=example, params=params,
        metadata={"config": encoder.config}, serialization_format="pt2",
        pip_requirements=["torch==" + version("torch")], **log_model_kwargs,
    )  # fmt: skip
