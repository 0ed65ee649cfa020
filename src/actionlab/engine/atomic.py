"""Files that appear whole or not at all: write under a unique temporary name, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

TMP_SUFFIX = ".tmp"


def temp_name(name: str) -> str:
    """A unique hidden temporary name for ``name`` in the same folder (never listed as data)."""
    return f".{name}.{uuid.uuid4().hex[:12]}{TMP_SUFFIX}"


def is_temp(name: str) -> bool:
    """True for a name made by :func:`temp_name` (a leftover of an interrupted write)."""
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


def _fsync(path: Path) -> None:
    if path.is_file():
        with open(path, "rb+") as handle:
            os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a local path to write; on success it becomes ``target`` in one step.

    Local targets get a temporary name in the same folder and ``os.replace`` (atomic on POSIX).
    Any other fsspec URL (``s3://``, ``gcs://``, ...) is written to a local temporary file and
    uploaded in one put, which object stores make visible whole. On an exception nothing is left.
    """
    fs, path = fsspec.core.url_to_fs(str(target))
    if isinstance(fs, LocalFileSystem):
        final = Path(path)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(temp_name(final.name))
        try:
            yield tmp
            _fsync(tmp)
            os.replace(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                tmp.unlink()
        return
    with tempfile.TemporaryDirectory(prefix="actionlab-") as folder:
        tmp = Path(folder) / Path(path).name
        yield tmp
        fs.put_file(str(tmp), path)


def write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def clean_temp(folder: str | os.PathLike[str]) -> list[str]:
    """Remove leftover temporary files of interrupted writes in ``folder``; returns their names."""
    fs, path = fsspec.core.url_to_fs(str(folder))
    if not fs.exists(path):
        return []
    removed = []
    for entry in fs.ls(path, detail=False):
        name = entry.rstrip("/").rsplit("/", 1)[-1]
        if is_temp(name):
            fs.rm(entry, recursive=True)
            removed.append(name)
    return removed
