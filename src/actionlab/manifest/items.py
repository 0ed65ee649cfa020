"""Ingestion's per-file probe item and its cache key (no kedro).

A probe result depends on the file's bytes, which ingestion does not re-read when the file's
(path, size, mtime) are unchanged: the key is made of those, so a re-run over unchanged files
only lists them. A failed probe is not cached: the file is probed again on the next run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from actionlab.engine import Batch, Item, PartitionStore
from actionlab.keys import params_hash
from actionlab.manifest.build import finish_manifest, probe_file, row_from_probe

PROBE_VERSION = "2"  # bump when probing or hashing changes the facts of an unchanged file


def probe_key(path: str | os.PathLike[str], truncated: str) -> str | None:
    """Cache key of one file's probe, or None when the file does not exist."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    resolved = str(Path(path).resolve())
    return params_hash(resolved, stat.st_size, stat.st_mtime_ns, truncated, PROBE_VERSION, length=16)


def probe_item(out: None, *, path: str, truncated: str) -> dict[str, Any]:
    """Probe one file; the record holds its facts (see :func:`~actionlab.manifest.build.probe_file`)."""
    return probe_file(path, truncated=truncated)


def plan_probes(sources: pd.DataFrame, truncated: str, runtime: dict[str, Any]) -> tuple[Batch, pd.DataFrame]:
    """One probe item per distinct existing file of the usable source rows (two clips cut from
    one video share it), and the source table with each row's ``probe_key`` ('' for none)."""
    keys = [
        "" if row.get("error") else (probe_key(row["path"], truncated) or "")
        for row in sources.to_dict("records")
    ]
    plan = sources.assign(probe_key=keys)
    files = plan[plan["probe_key"] != ""].drop_duplicates("probe_key")
    items = [Item(row.probe_key, {"path": row.path, "truncated": truncated}) for row in files.itertuples(index=False)]
    return Batch("probe videos", probe_item, items, runtime), plan


def manifest_from_probes(plan: pd.DataFrame, probes: PartitionStore) -> pd.DataFrame:
    """The manifest of the planned rows from the probe records (failed probes: their reason)."""
    keys = [k for k in plan["probe_key"].unique() if k]
    records = probes.records(keys)
    rows = []
    for row, key in zip(plan.drop(columns="probe_key").to_dict("records"), plan["probe_key"], strict=True):
        if key in records:
            rows.append(row_from_probe(row, records[key]))
            continue
        missing = f"{row['path']}: file not found; fix the path or remove the row."
        rows.append(row_from_probe(row, None, (probes.read_failure(key) or "not probed") if key else missing))
    return finish_manifest(rows)
