"""Clustering nodes: discover action groups in the clip embeddings and judge them against labels."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from actionlab.clustering.algorithms import LABEL_FREE_SOURCES, cluster_both, prepare_features
from actionlab.clustering.describe import (
    centre_distances,
    cluster_labels_table,
    cluster_members_table,
    cluster_title,
    partition_name,
    pick_clips,
)
from actionlab.clustering.evaluation import (
    K_CHOICES,
    Clustering,
    score_table,
    scores_report,
    table_metrics,
    unseen_mask,
)
from actionlab.engine import PartitionStore
from actionlab.lineage import with_lineage
from actionlab.metrics.centroids import centroid_analysis
from actionlab.plots.clusters import cluster_sheet_figure, preview_gif
from actionlab.plots.embedding import (
    centroid_distance_figure,
    confusion_figure,
    silhouette_k_figure,
    tsne_figure,
)
from actionlab.video.items import sampled_frames

logger = logging.getLogger(__name__)


def _matrix(clip_embeddings: pd.DataFrame) -> np.ndarray:
    return np.stack(clip_embeddings["embedding"].to_numpy()).astype(np.float64)


def _labels(clip_embeddings: pd.DataFrame) -> np.ndarray | None:
    labels = clip_embeddings["label"].fillna("").astype(str).to_numpy()
    return labels if (labels != "").all() else None


def _features(clip_embeddings: pd.DataFrame, params: dict[str, Any]) -> np.ndarray:
    return prepare_features(
        _matrix(clip_embeddings), standardize=params["standardize"],
        pca_components=params["pca_components"], seed=params["seed"],
    )  # fmt: skip


def cluster_clips(
    clip_embeddings: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any], Figure]:
    """Both cluster assignments (07_model_output), how each k was set, the silhouette-vs-k plot."""
    assignments, labelfree, info = cluster_both(
        _matrix(clip_embeddings), labels=_labels(clip_embeddings), algorithm=params["algorithm"],
        standardize=params["standardize"], pca_components=params["pca_components"], k=params["k"],
        k_range=tuple(params["k_range"]), seed=params["seed"], params=params.get(params["algorithm"]) or {},
    )  # fmt: skip
    table = clip_embeddings[["video_id", "label", "split", "group"]].assign(
        cluster=assignments, cluster_labelfree=labelfree
    )
    silhouettes = info.pop("silhouette_table", None)
    labels_k = None if info["k_source"] in LABEL_FREE_SOURCES else info["k"]
    figure = (
        silhouette_k_figure(silhouettes, chosen_k=info["k_labelfree"], labels_k=labels_k)
        if silhouettes is not None
        else _note_figure(f"k = {info['k']} from {info['k_source']}: no silhouette search")
    )
    logger.info(
        "Clustering: %s, k=%s (%s), label-free k=%s (%s)", params["algorithm"], info["k"],
        info["k_source"], info["k_labelfree"], info["k_source_labelfree"],
    )  # fmt: skip
    table = with_lineage(table, clip_embeddings, params={"clustering": params})
    return table, {"algorithm": params["algorithm"], **info}, figure


def _note_figure(text: str) -> Figure:
    fig = Figure(figsize=(5, 1.2))
    fig.text(0.5, 0.5, text, ha="center", va="center")
    return fig


def evaluate_clusters(
    clip_embeddings: pd.DataFrame,
    cluster_assignments: pd.DataFrame,
    clustering_info: dict[str, Any],
    params: dict[str, Any],
    ssl_splits: list[str],
) -> tuple[dict[str, Any], dict[str, Any], Figure, Figure]:
    """Scores of both clusterings on all clips and on the clips SSL did not train on (MLflow
    metrics and a JSON report), the t-SNE map and the cluster-vs-label matrix."""
    X = _features(clip_embeddings, params)
    labels = _labels(clip_embeddings)
    clusters = cluster_assignments["cluster"].to_numpy()
    runs = {
        k_choice: Clustering(
            cluster_assignments[f"cluster{sfx}"].to_numpy(),
            clustering_info[f"k{sfx}"], clustering_info[f"k_source{sfx}"],
        )  # fmt: skip
        for k_choice, sfx in K_CHOICES.items()
    }
    table = score_table(X, runs, labels, unseen_mask(clip_embeddings["split"], ssl_splits))
    for row in table[table["note"].notna()].to_dict("records"):
        logger.warning(
            "Clustering scores of k_choice=%s on %s clips left out (NaN): %s",
            row["k_choice"], row["clips"], row["note"],
        )  # fmt: skip
    logger.info("Clustering scores:\n%s", table.drop(columns="note").round(4).to_string())
    algorithm = params["algorithm"]
    metrics = {k: {"value": v, "step": 0} for k, v in table_metrics(table).items()}
    report = scores_report(table, algorithm=algorithm, ssl_splits=ssl_splits)
    tsne = tsne_figure(X, labels=labels, clusters=clusters, seed=params["seed"], title=f"{len(X)} clips")
    confusion = (
        confusion_figure(labels, clusters, title=f"{algorithm} clusters vs labels")
        if labels is not None else _note_figure("no labels: nothing to compare the clusters with")
    )  # fmt: skip
    return metrics, report, tsne, confusion


def analyse_centroids(clip_embeddings: pd.DataFrame, params: dict[str, Any]) -> tuple[pd.DataFrame, Figure]:
    """Per-class centroid distances and radii on the clustering features (labels required)."""
    labels = _labels(clip_embeddings)
    if labels is None:
        return pd.DataFrame(), _note_figure("no labels: centroid analysis needs a label per clip")
    distances, summary = centroid_analysis(_features(clip_embeddings, params), labels)
    return summary, centroid_distance_figure(distances, summary)


def describe_clusters(
    clip_embeddings: pd.DataFrame,
    cluster_assignments: pd.DataFrame,
    clip_index: pd.DataFrame,
    clips: PartitionStore,
    params: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Per cluster of ``cluster``, a contact sheet of the clips nearest its centre and at its edge
    (in the clustering's feature space) and a looping GIF of the centre clips, both built lazily
    as the catalog saves them (one clip's frames at a time); the ``cluster_labels.csv`` template
    and ``cluster_members.csv`` (where each clip's video is) for ``ingestion.source=cluster_labels``."""
    d = params["describe"]
    where = clip_index[["video_id", "path", "time_start", "time_end", "clip_key", "clip_frames"]]
    table = cluster_assignments.merge(where, on="video_id", how="left", validate="one_to_one")
    distances = centre_distances(_features(clip_embeddings, params), table["cluster"].to_numpy())
    labels = table["label"].to_numpy() if "label" in table else None
    summary = cluster_labels_table(table["cluster"].to_numpy(), table["video_id"], distances, labels)
    picks = pick_clips(distances, table["cluster"].to_numpy(), n_centre=d["n_centre"], n_edge=d["n_edge"])
    picks = picks.join(table[["video_id", "label", "clip_key", "clip_frames"]], on="row")
    sheets, previews = {}, {}
    for row in summary.to_dict("records"):
        chosen = picks[picks["cluster"] == row["cluster"]]
        name = partition_name(row["cluster"])
        sheets[name] = partial(_sheet, clips, chosen, d["frames_per_clip"], cluster_title(row))
        previews[name] = partial(_preview, clips, chosen[chosen["role"] == "centre"], d)
    logger.info(
        "Described %d clusters: %s", len(summary),
        "; ".join(f"{r.cluster}: {r.n_clips} clips, {r.label_mix or 'no labels'}" for r in summary.itertuples()),
    )  # fmt: skip
    return sheets, previews, summary, cluster_members_table(table, distances)


def _sheet(clips: PartitionStore, chosen: pd.DataFrame, frames: int, title: str) -> Figure:
    rows = [
        (r.role, f"{r.role} {r.rank}\n{r.label}\n{r.video_id}\nd = {r.distance:.2f}",
         sampled_frames(clips, r.clip_key, int(r.clip_frames), frames))
        for r in chosen.itertuples(index=False)
    ]  # fmt: skip
    return cluster_sheet_figure(rows, title=title)


def _preview(clips: PartitionStore, centre: pd.DataFrame, d: dict[str, Any]) -> Any:
    frames = [
        sampled_frames(clips, r.clip_key, int(r.clip_frames), d["preview_frames"])
        for r in centre.itertuples(index=False)
    ]
    return preview_gif(frames, tile=d["preview_tile"], fps=d["preview_fps"], frames=d["preview_frames"])
