"""Per-item artefacts in one folder of any fsspec file system, with a small record per item.

Layout under ``root``::

    <key><suffix>          the item's data (a clip, a feature file), written atomically
    _records/<key>.json    its small record (status, warnings, counts, small outputs), written
                           after the data: a record marks the item done
    .<name>.<id>.tmp       a write in progress (or a leftover of a killed one): never listed

Stores with ``suffix=None`` keep records only (e.g. probe results).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from actionlab.engine.atomic import atomic_path, clean_temp, is_temp, write_bytes

logger = logging.getLogger(__name__)
RECORDS = "_records"
FAILURES = "_failures"


class PartitionStore:
    """Done items of one stage, keyed by cache key. Picklable: only the URL travels to workers."""

    def __init__(self, root: str | Path, suffix: str | None = None) -> None:
        self.root = str(root).rstrip("/")
        self.suffix = suffix
        self._fs: fsspec.AbstractFileSystem | None = None
        self._path: str | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"root": self.root, "suffix": self.suffix}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["root"], state["suffix"])

    def __repr__(self) -> str:
        return f"PartitionStore({self.root!r}, suffix={self.suffix!r})"

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        if self._fs is None:
            self._fs, self._path = fsspec.core.url_to_fs(self.root)
        return self._fs

    def _join(self, *parts: str) -> str:
        _ = self.fs
        return "/".join([str(self._path), *parts])

    def _url(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    # ------------------------------------------------------------------ paths
    def data_url(self, key: str) -> str:
        """Where the data of ``key`` lives (a local path or a URL)."""
        if self.suffix is None:
            raise ValueError(f"{self} keeps records only; it has no data files.")
        return self._url(f"{key}{self.suffix}")

    def open(self, key: str, mode: str = "rb") -> Any:
        """Open the data of ``key`` (a file object; h5py and numpy read from it)."""
        return self.fs.open(self._join(f"{key}{self.suffix}"), mode)

    def local_path(self, key: str) -> str | None:
        """The data's local path when the store is on the local disk, else None."""
        return self._join(f"{key}{self.suffix}") if isinstance(self.fs, LocalFileSystem) else None

    # ------------------------------------------------------------------ writing (workers)
    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path | None]:
        """A local path to write the data of ``key``; it appears whole when the block succeeds."""
        if self.suffix is None:
            yield None
            return
        with atomic_path(self.data_url(key)) as tmp:
            yield tmp

    def write_record(self, key: str, record: dict[str, Any]) -> None:
        """Write the record of ``key`` (after its data): from now on the item is done."""
        text = json.dumps(record, sort_keys=True, default=_json_default)
        write_bytes(self._url(RECORDS, f"{key}.json"), text.encode())

    # ------------------------------------------------------------------ reading (driver)
    def read_record(self, key: str) -> dict[str, Any] | None:
        """The record of ``key``, or None when the item is not done (or its record is unreadable)."""
        path = self._join(RECORDS, f"{key}.json")
        try:
            with self.fs.open(path, "rb") as handle:
                return json.loads(handle.read())
        except FileNotFoundError:
            return None
        except (ValueError, OSError) as err:
            logger.warning(
                "%s: unreadable record of %s (%s); the item will be recomputed", self, key, err
            )
            return None

    def done_keys(self) -> set[str]:
        """Keys with a record and, for data stores, a data file: items that need no work."""
        records = self._listing(RECORDS, ".json")
        if self.suffix is None:
            return records
        return records & self._listing("", self.suffix)

    def records(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Records of the done items among ``keys``."""
        done = self.done_keys()
        out = {}
        for key in keys:
            if key in done and (record := self.read_record(key)) is not None:
                out[key] = record
        return out

    def _listing(self, folder: str, suffix: str) -> set[str]:
        path = self._join(folder) if folder else self._join()
        if not self.fs.exists(path):
            return set()
        names = (e.rstrip("/").rsplit("/", 1)[-1] for e in self.fs.ls(path, detail=False))
        return {n[: -len(suffix)] for n in names if n.endswith(suffix) and not is_temp(n)}

    # ------------------------------------------------------------------ failure notes
    def write_failure(self, key: str, reason: str) -> None:
        """Note why ``key`` failed when the worker cannot return it (it is about to end)."""
        write_bytes(self._url(FAILURES, f"{key}.txt"), reason.encode())

    def read_failure(self, key: str) -> str | None:
        """The note written by :meth:`write_failure`, if any."""
        try:
            with self.fs.open(self._join(FAILURES, f"{key}.txt"), "rb") as handle:
                return handle.read().decode()
        except FileNotFoundError:
            return None

    def clear_failures(self, keys: Iterable[str]) -> None:
        """Forget failure notes before the items run again."""
        if not self.fs.exists(self._join(FAILURES)):
            return
        self.remove_paths(self._join(FAILURES, f"{key}.txt") for key in keys)

    def remove_paths(self, paths: Iterable[str]) -> None:
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm(path)

    # ------------------------------------------------------------------ housekeeping
    def clean_temp(self) -> list[str]:
        """Remove leftovers of interrupted writes (data and records)."""
        return clean_temp(self.root) + clean_temp(self._url(RECORDS))

    def stale(self, wanted: Iterable[str]) -> list[str]:
        """Done keys that the current plan does not use (older parameters, removed videos)."""
        keep = set(wanted)
        keys = self._listing(RECORDS, ".json")
        if self.suffix is not None:
            keys |= self._listing("", self.suffix)
        return sorted(keys - keep)

    def remove(self, keys: Iterable[str]) -> None:
        """Delete the data and records of ``keys``."""
        for key in keys:
            self.remove_paths([self._join(RECORDS, f"{key}.json")])
            if self.suffix is not None:
                self.remove_paths([self._join(f"{key}{self.suffix}")])


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays in records."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in an item record")
