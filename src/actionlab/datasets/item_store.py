"""The per-video artefacts of one stage, computed by the engine when a planning node's batch is saved."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset, DatasetError

from actionlab.engine import Batch, PartitionStore


class ItemStoreDataset(AbstractDataset[Batch, PartitionStore]):
    """A folder of per-item files (any fsspec path) plus their small records.

    Saving a :class:`~actionlab.engine.Batch` runs its items with the configured executor:
    workers write their own partitions here and only small records travel back. Loading gives
    the :class:`~actionlab.engine.PartitionStore`, from which nodes read records (status,
    warnings, small outputs) without opening the data, and open single partitions lazily.
    """

    def __init__(self, path: str, suffix: str | None = None, metadata: dict[str, Any] | None = None) -> None:
        self._path = path
        self._suffix = suffix
        self.metadata = metadata

    def _store(self) -> PartitionStore:
        return PartitionStore(self._path, self._suffix)

    def load(self) -> PartitionStore:
        return self._store()

    def save(self, data: Batch) -> None:
        if not isinstance(data, Batch):
            raise DatasetError(f"{self._path}: expected an engine Batch from the planning node, got {type(data).__name__}.")
        data.run(self._store())

    def _exists(self) -> bool:
        store = self._store()
        return store.fs.exists(store.root)

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path, "suffix": self._suffix}
