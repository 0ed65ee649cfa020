"""A trained classifier as one ``.pt`` file (name, config, class names, state, lineage), written
atomically and read with ``torch.load(weights_only=True)`` (no pickled code), and logged as an
MLflow pyfunc model when a run is active."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import mlflow
import torch
from kedro.io import AbstractDataset

from actionlab.engine import atomic_path
from actionlab.inference.pyfunc import log_classifier


class ClassifierDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """Saves and loads the dict made by ``actionlab.models.compare.classifier_blob``;
    ``classifier_from_blob`` turns a loaded one back into the model.

    ``mlflow_model`` (optional, e.g. ``{ssl_encoder_path: data/04_feature/ssl_encoder.pt}``): on
    save, while an MLflow run is active, the classifier is also logged as the pyfunc model
    ``classifier_<file stem>`` (``actionlab.inference.pyfunc.log_classifier``; the SSL encoder
    file is bundled when the features came from it). The file stays what the pipelines read.
    """

    def __init__(
        self, filepath: str, mlflow_model: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        self._filepath = PurePosixPath(filepath)
        self._mlflow_model = None if mlflow_model is None else dict(mlflow_model)
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        return torch.load(Path(self._filepath), map_location="cpu", weights_only=True)

    def save(self, data: dict[str, Any]) -> None:
        with atomic_path(self._filepath) as tmp:  # a kill never leaves a half-written model
            torch.save(data, tmp)
        if self._mlflow_model is not None and mlflow.active_run() is not None:
            log_classifier(data, self._filepath, f"classifier_{self._filepath.stem}", **self._mlflow_model)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "mlflow_model": self._mlflow_model}
