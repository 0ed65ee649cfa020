"""What each cluster is: its clips nearest the centre and at the edge, its label mix, and the
``cluster_labels.csv`` template a user fills in to turn clusters into labels (no Kedro here).

Distances are measured in the space the clustering used (the output of
:func:`actionlab.clustering.algorithms.prepare_features`); a cluster's centre is the mean of its
members there (for k-means, its centroid). HDBSCAN's noise (cluster ``-1``) is described like a
cluster, but its ``label`` is left empty: noise is not an action.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from actionlab.metrics.clustering import NOISE, is_missing_label

CENTRE, EDGE = "centre", "edge"
PICK_COLUMNS = ["cluster", "role", "rank", "row", "distance"]
LABEL_COLUMNS = [
    "cluster", "label", "suggested_label", "suggested_share", "label_mix", "n_clips", "clips",
]  # fmt: skip
MEMBER_COLUMNS = ["video_id", "cluster", "path", "time_start", "time_end", "group"]


def centre_distances(X: np.ndarray, assignments: np.ndarray) -> np.ndarray:
    """Euclidean distance of every row of ``X`` to the mean of its cluster's rows."""
    X = np.asarray(X, dtype=float)
    assignments = np.asarray(assignments)
    if X.ndim != 2 or len(X) != len(assignments):
        raise ValueError(
            f"Expected features (n, d) and n assignments; got {X.shape} and {len(assignments)}."
        )
    distances = np.empty(len(X))
    for c in np.unique(assignments):
        members = assignments == c
        distances[members] = np.linalg.norm(X[members] - X[members].mean(axis=0), axis=1)
    return distances


def pick_clips(
    distances: np.ndarray, assignments: np.ndarray, *, n_centre: int, n_edge: int
) -> pd.DataFrame:
    """Per cluster, the ``n_centre`` members nearest its centre (role ``centre``, rank 1 the
    nearest) and the ``n_edge`` farthest of the others (role ``edge``, rank 1 the farthest).

    A cluster smaller than ``n_centre + n_edge`` fills its centre rows first; no clip is picked
    twice. Ties go to the earlier row. Columns: cluster, role, rank, row (index into the
    inputs), distance; clusters in :func:`cluster_order`.
    """
    distances, assignments = np.asarray(distances, dtype=float), np.asarray(assignments)
    rows = []
    for c in cluster_order(assignments):
        members = np.flatnonzero(assignments == c)
        near = members[np.argsort(distances[members], kind="stable")]
        centre = near[:n_centre]
        rest = near[n_centre:]
        far = rest[np.argsort(-distances[rest], kind="stable")][:n_edge]
        for role, picked in ((CENTRE, centre), (EDGE, far)):
            rows += [
                {"cluster": int(c), "role": role, "rank": rank, "row": int(i),
                 "distance": float(distances[i])}
                for rank, i in enumerate(picked, start=1)
            ]  # fmt: skip
    return pd.DataFrame(rows, columns=PICK_COLUMNS)


def cluster_order(assignments: np.ndarray) -> list[int]:
    """Cluster ids ascending, noise (``-1``) last."""
    ids = sorted(int(c) for c in np.unique(assignments) if c != NOISE)
    return ids + [NOISE] if np.any(np.asarray(assignments) == NOISE) else ids


def label_mix(labels: Sequence[Any]) -> list[tuple[str, int]]:
    """``(label, count)`` of the non-missing labels, most frequent first (ties by name)."""
    counts = pd.Series([str(v) for v in labels if not is_missing_label(v)], dtype=object)
    if counts.empty:
        return []
    table = counts.value_counts()
    return sorted(((str(k), int(v)) for k, v in table.items()), key=lambda kv: (-kv[1], kv[0]))


def mix_text(mix: list[tuple[str, int]]) -> str:
    """``wave 8, clap 2``; empty when there are no labels."""
    return ", ".join(f"{label} {count}" for label, count in mix)


def cluster_labels_table(
    assignments: np.ndarray,
    video_ids: Sequence[str],
    distances: np.ndarray,
    labels: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """The ``cluster_labels.csv`` template: one row per cluster (:func:`cluster_order`).

    ``suggested_label`` is the cluster's most frequent label and ``suggested_share`` its share of
    the cluster's clips (empty without labels); ``label`` starts as the suggestion (empty for
    noise) for the user to edit: an empty label leaves the cluster's clips out. ``clips`` lists
    the members' video ids, nearest the centre first, separated by spaces.
    """
    assignments = np.asarray(assignments)
    labels_arr = np.asarray(labels if labels is not None else [""] * len(assignments), dtype=object)
    ids, distances = np.asarray(video_ids, dtype=object), np.asarray(distances, dtype=float)
    rows = []
    for c in cluster_order(assignments):
        members = np.flatnonzero(assignments == c)
        members = members[np.argsort(distances[members], kind="stable")]
        mix = label_mix(labels_arr[members])
        suggestion, share = (mix[0][0], round(mix[0][1] / len(members), 3)) if mix else ("", np.nan)
        rows.append(
            {"cluster": int(c), "label": "" if c == NOISE else suggestion,
             "suggested_label": suggestion, "suggested_share": share, "label_mix": mix_text(mix),
             "n_clips": len(members), "clips": " ".join(str(v) for v in ids[members])}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=LABEL_COLUMNS)


def cluster_title(row: dict[str, Any]) -> str:
    """A contact sheet's title from its ``cluster_labels_table`` row."""
    name = "noise (HDBSCAN)" if row["cluster"] == NOISE else f"cluster {row['cluster']}"
    mix = f": {row['label_mix']}" if row["label_mix"] else ""
    return f"{name}, {row['n_clips']} clips{mix}"


def partition_name(cluster: int) -> str:
    """File stem of a cluster's contact sheet and preview: ``cluster_3``, or ``noise``."""
    return "noise" if cluster == NOISE else f"cluster_{cluster}"


def cluster_members_table(clips: pd.DataFrame, distances: np.ndarray) -> pd.DataFrame:
    """``cluster_members.csv``: where each clustered clip's video is (``video_id``, ``cluster``,
    ``path``, ``time_start``, ``time_end``, ``group``), by cluster, nearest the centre first."""
    missing = [c for c in MEMBER_COLUMNS if c not in clips]
    if missing:
        raise ValueError(f"The clustered clips lack columns {missing} for cluster_members.csv.")
    order = {c: i for i, c in enumerate(cluster_order(clips["cluster"].to_numpy()))}
    keys = pd.DataFrame(
        {"order": clips["cluster"].map(order).to_numpy(), "distance": distances}
    ).sort_values(["order", "distance"], kind="stable")
    return clips[MEMBER_COLUMNS].iloc[keys.index].reset_index(drop=True)
