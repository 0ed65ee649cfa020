"""Stable identifiers: content hashes for videos, short hashes for parameter sets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def content_hash(path: str | Path, *, length: int = 16, chunk_size: int = 1 << 20) -> str:
    """Hex digest of a file's bytes (streamed), used as ``video_id``: renames keep the id."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()[:length]


def params_hash(*parts: Any, length: int = 8) -> str:
    """Short hash of JSON-serialisable parameters; equal parameters give equal hashes."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()[:length]


def module_digest(module: Any) -> str:
    """Hash of a torch module's ``config`` attribute and weights: features are recomputed, and a
    classifier refuses an encoder, when the encoder is retrained or its settings change."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(json.dumps(getattr(module, "config", {}), sort_keys=True, default=str).encode())
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def partition_key(video_id: str, phash: str) -> str:
    """Partition name of one video's artefact computed with parameters hashed to ``phash``."""
    return f"{video_id}-{phash}"



def _weight_files(path: Path) -> list[Path]:
    """A weights file, or every file in a weights folder (sorted)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    raise FileNotFoundError(f"{path}: weights file or folder not found.")


def weights_hash(path: str | Path) -> str:
    """Content hash of a weights file, or of every file in a weights folder (names and bytes).

    Replacing a file at the same path changes the hash, so features made with the old weights are
    never reused. Computed once per run by the planning node (about 1 s per GB).
    """
    path = Path(path)
    if path.is_file():
        return content_hash(path, length=32)
    digest = hashlib.blake2b(digest_size=16)
    for child in _weight_files(path):
        digest.update(str(child.relative_to(path)).encode())
        digest.update(content_hash(child, length=32).encode())
    return digest.hexdigest()


def weights_signature(path: str | Path) -> tuple:
    """(path, size, modification time) of a weights file or of every file in a weights folder:
    a cheap identity (no reading) that changes when a file is replaced; for in-process reuse of
    loaded models, where ``weights_hash`` would read the weights again."""
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in _weight_files(Path(path)))
