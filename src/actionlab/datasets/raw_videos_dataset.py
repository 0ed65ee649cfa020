"""The raw videos (layer 01_raw) as a catalog entry: a handle on where they are, never frames.

kedro-datasets has no fitting dataset: ``PartitionedDataset`` needs a folder and fails on an
empty one, while ``ingestion.root`` may be a CSV file, and the synthetic source writes its
videos into a root that does not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import fsspec
import pandas as pd
from kedro.io import AbstractDataset, DatasetError
from kedro_datasets._typing import TablePreview

from actionlab.manifest.sources import VIDEO_EXTENSIONS

FIX = (
    "point ingestion.root at your videos for one run with --params \"ingestion.root=<path>\", "
    "or for good in conf/local/globals.yml (ingestion: {root: <path>})"
)


@dataclass(frozen=True)
class RawVideos:
    """Where the raw videos are: ``root`` (a folder, or a CSV file whose paths are relative to
    its folder) on the fsspec file system ``fs``. Opens nothing."""

    root: str
    fs: fsspec.AbstractFileSystem
    fs_path: str  # ``root`` as ``fs`` names it (protocol stripped, local paths absolute)

    @property
    def is_local(self) -> bool:
        return "file" in _protocols(self.fs)

    def exists(self) -> bool:
        return bool(self.fs.exists(self.fs_path))

    def require(self) -> None:
        """Raise ``FileNotFoundError`` naming the root and the fix when it does not exist."""
        if not self.exists():
            raise FileNotFoundError(f"Raw videos: ingestion.root={self.root!r} does not exist; {FIX}.")

    def files(self, limit: int | None = None) -> pd.DataFrame:
        """Video files (by ``VIDEO_EXTENSIONS``) under the root folder, or under a CSV root's
        folder: ``file`` (relative to that folder) and ``size_mb``, sorted; at most ``limit``."""
        self.require()
        root = PurePosixPath(self.fs_path)
        folder = root if self.fs.isdir(self.fs_path) else root.parent
        rows = []
        for path, info in sorted(self.fs.find(str(folder), detail=True).items()):
            if PurePosixPath(path).suffix.lower() in VIDEO_EXTENSIONS:
                rows.append((str(PurePosixPath(path).relative_to(folder)), round(info["size"] / 1e6, 3)))
                if limit is not None and len(rows) >= limit:
                    break
        return pd.DataFrame(rows, columns=["file", "size_mb"])


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


class RawVideosDataset(AbstractDataset[Any, RawVideos]):
    """Read-only handle on the raw videos at ``path`` (any fsspec URL; the catalog sets it from
    ``ingestion.root``). ``load`` returns a :class:`RawVideos`; a missing path loads too (the
    synthetic source writes its videos there), and its readers say what to fix."""

    def __init__(
        self, *, path: str, fs_args: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        self._path = str(path)
        self._fs_args = dict(fs_args or {})
        self.metadata = metadata

    def load(self) -> RawVideos:
        fs, fs_path = fsspec.core.url_to_fs(self._path, **self._fs_args)
        return RawVideos(root=self._path, fs=fs, fs_path=fs_path)

    def save(self, data: Any) -> None:
        raise DatasetError(f"{self._path}: the raw videos are read-only.")

    def _exists(self) -> bool:
        return self.load().exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path}

    def preview(self, nrows: int = 10) -> TablePreview:
        """The first ``nrows`` video files under the root, for Kedro-Viz."""
        return TablePreview(self.load().files(limit=nrows).to_dict(orient="split"))
