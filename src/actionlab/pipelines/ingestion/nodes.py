"""Ingestion nodes: find the videos, probe them into the manifest, split, report rejections."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from actionlab.engine import Batch, PartitionStore
from actionlab.manifest import (
    ACCEPTED,
    SOURCES,
    assign_splits,
    read_folder,
    read_kinetics_csv,
    read_labels_csv,
    rejection_report,
)
from actionlab.manifest.items import manifest_from_probes
from actionlab.manifest.items import plan_probes as plan_probe_items
from actionlab.synthetic import generate_dataset

logger = logging.getLogger(__name__)


def discover_videos(params: dict[str, Any]) -> pd.DataFrame:
    """The source table for ``ingestion.source``, with ``ingestion.group_column`` as its group."""
    sources = _read_source(params)
    column = params.get("group_column") or "group"
    if column != "group":
        if column not in sources:
            raise ValueError(
                f"ingestion.group_column={column!r} is not a column of the source "
                f"(columns: {list(sources.columns)})."
            )
        sources["group"] = sources[column].astype(str)
    return sources


def _read_source(params: dict[str, Any]) -> pd.DataFrame:
    """The synthetic source writes the built-in videos into ``ingestion.root`` first when that
    folder has no ``labels.csv`` yet."""
    source, root = params["source"], Path(params["root"])
    extensions = tuple(params["video_extensions"])
    if source == "synthetic":
        if not (root / "labels.csv").is_file():
            logger.info("Writing the built-in synthetic action videos to %s", root)
            generate_dataset(root, **params["synthetic"])
        return read_labels_csv(root / "labels.csv")
    if source == "folder":
        return read_folder(root, extensions)
    if source == "labels_csv":
        return read_labels_csv(root)
    if source == "kinetics_csv":
        return read_kinetics_csv(root, params.get("kinetics_video_dir"), extensions)
    raise ValueError(f"ingestion.source={source!r} is not one of {SOURCES}.")


def plan_probes(
    video_sources: pd.DataFrame, params: dict[str, Any], runtime: dict[str, Any]
) -> tuple[Batch, pd.DataFrame]:
    """One probe item per video file, cached by (path, size, mtime): unchanged files are not
    read again on a re-run."""
    return plan_probe_items(video_sources, params["truncated"], runtime)


def build_manifest(probe_plan: pd.DataFrame, probes: PartitionStore, params: dict[str, Any]) -> pd.DataFrame:
    """The manifest from the probe records, with splits for the accepted videos (kept splits
    from a CSV win)."""
    manifest = manifest_from_probes(probe_plan, probes)
    accepted = manifest["status"] == ACCEPTED
    if not accepted.any():
        reasons = "\n".join(f"  {p}: {e}" for p, e in manifest[["path", "error"]].head(10).values)
        raise ValueError(
            f"Every one of the {len(manifest)} videos from ingestion.root={params['root']!r} was "
            f"rejected; first reasons:\n{reasons}"
        )
    given = manifest["split"].astype(str) != ""
    todo = accepted & ~given
    if todo.any():
        groups = manifest.loc[todo, "group"] if (manifest.loc[todo, "group"] != "").all() else None
        manifest.loc[todo, "split"] = assign_splits(
            manifest.loc[todo, "label"], groups,
            fractions=params["split"]["fractions"], seed=params["split"]["seed"],
        )  # fmt: skip
    manifest.loc[~accepted, "split"] = ""
    logger.info(
        "Manifest: %d accepted, %d rejected; splits %s",
        accepted.sum(), (~accepted).sum(), manifest.loc[accepted, "split"].value_counts().to_dict(),
    )  # fmt: skip
    return manifest


def report_ingestion(manifest: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rejection report and the ingestion counts for MLflow."""
    accepted = manifest[manifest["status"] == ACCEPTED]
    metrics = {
        "videos_total": {"value": float(len(manifest)), "step": 0},
        "videos_accepted": {"value": float(len(accepted)), "step": 0},
        "videos_rejected": {"value": float(len(manifest) - len(accepted)), "step": 0},
        "labels": {"value": float(accepted["label"].nunique()), "step": 0},
    }
    return rejection_report(manifest), metrics
