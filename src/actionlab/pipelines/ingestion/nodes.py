"""Ingestion nodes: find the videos, probe them into the manifest, split, report rejections."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from actionlab.datasets.raw_videos_dataset import RawVideos
from actionlab.engine import Batch, PartitionStore
from actionlab.lineage import frame_digest, with_lineage
from actionlab.manifest import (
    ACCEPTED,
    SOURCES,
    read_cluster_labels,
    read_folder,
    read_kinetics_csv,
    read_labels_csv,
    rejection_report,
    update_split_table,
)
from actionlab.manifest.items import manifest_from_probes
from actionlab.manifest.items import plan_probes as plan_probe_items
from actionlab.synthetic import generate_dataset

logger = logging.getLogger(__name__)


def discover_videos(raw_videos: RawVideos, params: dict[str, Any]) -> pd.DataFrame:
    """The source table for ``ingestion.source`` from the ``raw_videos`` root, grouped by
    ``ingestion.group_column`` (null: no groups; the default ``group`` is used when the source
    has it)."""
    _check_same_root(raw_videos, params["root"])
    return _read_source(Path(raw_videos.root), params, params.get("group_column", "group"))


def _check_same_root(raw_videos: RawVideos, root: str) -> None:
    """The ``raw_videos`` dataset and parameter ``ingestion.root`` must name one place: both
    follow ``--params ingestion.root=...`` and conf/*/globals.yml, but a root changed in a
    parameters file only reaches the parameter."""
    if not raw_videos.is_local:
        raise ValueError(f"ingestion.root={raw_videos.root!r}: the video sources read local paths only.")
    if os.path.abspath(raw_videos.root) != os.path.abspath(root):
        raise ValueError(
            f"The raw_videos dataset reads {raw_videos.root!r} but parameter ingestion.root is "
            f"{root!r}: one of them was overridden alone (a parameters file sets ingestion.root "
            "for the parameter only). Set the root once: --params \"ingestion.root=<path>\" for "
            "one run, or `ingestion: {root: <path>}` in conf/local/globals.yml for good."
        )


def _read_source(root: Path, params: dict[str, Any], group_column: str | None) -> pd.DataFrame:
    """The synthetic source writes the built-in videos into ``root`` first when that folder has
    no ``labels.csv`` yet."""
    source = params["source"]
    extensions = tuple(params["video_extensions"])
    if source == "synthetic":
        if not (root / "labels.csv").is_file():
            logger.info("Writing the built-in synthetic action videos to %s", root)
            generate_dataset(root, **params["synthetic"])
        return read_labels_csv(root / "labels.csv", group_column)
    if source == "folder":
        return read_folder(root, extensions, group_column)
    if source == "labels_csv":
        return read_labels_csv(root, group_column)
    if source == "kinetics_csv":
        return read_kinetics_csv(root, params.get("kinetics_video_dir"), extensions, group_column)
    if source == "cluster_labels":
        return read_cluster_labels(root)
    raise ValueError(f"ingestion.source={source!r} is not one of {SOURCES}.")


def probe_videos(
    video_sources: pd.DataFrame, params: dict[str, Any], runtime: dict[str, Any]
) -> tuple[Batch, pd.DataFrame]:
    """One probe item per video file, cached by (path, size, mtime): unchanged files are not
    read again on a re-run."""
    return plan_probe_items(video_sources, params["truncated"], runtime)


def build_manifest(
    probe_plan: pd.DataFrame, probes: PartitionStore, previous_splits: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The manifest from the probe records, the accepted videos with their split from the saved
    split table (a split from the CSV wins; see ``update_split_table``), and the new table.
    The manifest carries its lineage: the ingestion parameters and its content digest."""
    manifest = manifest_from_probes(probe_plan, probes)
    accepted = manifest["status"] == ACCEPTED
    if not accepted.any():
        reasons = "\n".join(f"  {p}: {e}" for p, e in manifest[["path", "error"]].head(10).values)
        raise ValueError(
            f"Every one of the {len(manifest)} videos from ingestion.root={params['root']!r} was "
            f"rejected; first reasons:\n{reasons}"
        )
    splits = update_split_table(
        manifest[accepted], previous_splits,
        fractions=params["split"]["fractions"], seed=params["split"]["seed"],
    )  # fmt: skip
    split_of = splits.set_index("video_id")["split"]
    manifest["split"] = manifest["video_id"].map(split_of).where(accepted, "").fillna("")
    logger.info(
        "Manifest: %d accepted, %d rejected; splits %s",
        accepted.sum(), (~accepted).sum(), manifest.loc[accepted, "split"].value_counts().to_dict(),
    )  # fmt: skip
    digest = {"manifest": frame_digest(manifest)}
    return with_lineage(manifest, params={"ingestion": params}, inputs=digest), splits


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
