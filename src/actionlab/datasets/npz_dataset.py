"""A dict of numpy arrays in one compressed ``.npz`` file."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError


class NpzDataset(AbstractDataset[dict[str, np.ndarray], dict[str, np.ndarray]]):
    """Saves ``{name: array}`` with ``np.savez_compressed``; loads it back as a dict of arrays.

    Strings are stored as numpy unicode arrays; object arrays are refused so loading never
    needs ``allow_pickle``.
    """

    def __init__(self, filepath: str, compress: bool = True, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self._compress = compress
        self.metadata = metadata

    def load(self) -> dict[str, np.ndarray]:
        path = Path(self._filepath)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except FileNotFoundError as err:
            raise DatasetError(f"{path} does not exist; run the pipeline that writes it first.") from err

    def save(self, data: dict[str, np.ndarray]) -> None:
        path = Path(self._filepath)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {name: np.asarray(value) for name, value in data.items()}
        bad = [name for name, value in arrays.items() if value.dtype == object]
        if bad:
            raise DatasetError(f"{path}: arrays {bad} have dtype object; convert them to numbers or str.")
        tmp = path.with_name(path.name + ".tmp.npz")
        (np.savez_compressed if self._compress else np.savez)(tmp, **arrays)
        tmp.replace(path)  # atomic: an interrupted run never leaves a half-written partition

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "compress": self._compress}
