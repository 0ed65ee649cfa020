"""A trained classifier as one ``.pt`` file (name, config, class names, state, lineage), written
atomically and read with ``torch.load(weights_only=True)`` (no pickled code)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import torch
from kedro.io import AbstractDataset

from actionlab.engine import atomic_path


class ClassifierDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """Saves and loads the dict made by ``actionlab.models.compare.classifier_blob``;
    ``classifier_from_blob`` turns a loaded one back into the model."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        return torch.load(Path(self._filepath), map_location="cpu", weights_only=True)

    def save(self, data: dict[str, Any]) -> None:
        with atomic_path(self._filepath) as tmp:  # a kill never leaves a half-written model
            torch.save(data, tmp)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
