"""Lineage: what an artefact was computed from, carried with the artefact itself.

Every stage's main table keeps, in ``attrs["lineage"]``, the parameters that made it and the
lineage of what it was made from (pandas and pyarrow keep ``DataFrame.attrs`` through parquet);
the SSL encoder keeps its own in the same place (``FrameEncoder.attrs``, saved in its file). A
lineage is ``{"params": {"<group>.<key>": value, ...}, "inputs": {"<dataset>": digest}}``:
parameter names are the flattened names MLflow shows (``embedding.encoder``,
``preprocessing.size``) and ``inputs`` holds content digests of source datasets (the manifest).
A run that reads a table can so record what made it, even when it ran none of the upstream stages
(``actionlab.hooks.LineageHooks``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, TypeVar

import pandas as pd

KEY = "lineage"
SEP = "."  # the separator of flattened parameter names (kedro-mlflow's dict_params.sep)

T = TypeVar("T")


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; an empty mapping gives no key (as kedro-mlflow)."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{SEP}{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        else:
            flat[name] = list(value) if isinstance(value, tuple) else value
    return flat


def lineage_of(artefact: Any) -> dict[str, dict[str, Any]]:
    """The lineage an artefact carries (``{"params": {}, "inputs": {}}`` when it has none)."""
    found = (getattr(artefact, "attrs", None) or {}).get(KEY) or {}
    return {"params": dict(found.get("params") or {}), "inputs": dict(found.get("inputs") or {})}


def with_lineage(
    artefact: T,
    *upstream: Any,
    params: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str] | None = None,
) -> T:
    """``artefact`` with its lineage set (in place; returned for chaining): the lineage of each
    ``upstream`` artefact in order (the first one that names a key wins), then this stage's
    ``params`` (nested by group, flattened) and source ``inputs`` (name -> digest), which win."""
    merged: dict[str, dict[str, Any]] = {"params": {}, "inputs": {}}
    for source in upstream:
        found = lineage_of(source)
        for part, known in merged.items():
            merged[part] = {**found[part], **known}
    merged["params"].update(flatten(params or {}))
    merged["inputs"].update(inputs or {})
    artefact.attrs[KEY] = merged
    return artefact


def frame_digest(frame: pd.DataFrame) -> str:
    """Content digest of a table (column names, then every row's values; not the index, dtypes
    or attrs): the same for the table in memory and read back from parquet."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
