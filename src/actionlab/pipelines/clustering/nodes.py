"""Clustering nodes: discover action groups in the clip embeddings and judge them against labels."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from actionlab.clustering.algorithms import cluster, prepare_features
from actionlab.metrics.centroids import centroid_analysis
from actionlab.metrics.clustering import clustering_scores
from actionlab.plots.embedding import (
    centroid_distance_figure,
    confusion_figure,
    silhouette_k_figure,
    tsne_figure,
)

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


def cluster_clips(clip_embeddings: pd.DataFrame, params: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any], Figure | None]:
    """Cluster assignments (07_model_output), how k was chosen, and the silhouette-vs-k plot."""
    assignments, info = cluster(
        _matrix(clip_embeddings), labels=_labels(clip_embeddings), algorithm=params["algorithm"],
        standardize=params["standardize"], pca_components=params["pca_components"], k=params["k"],
        k_range=tuple(params["k_range"]), seed=params["seed"], params=params.get(params["algorithm"]) or {},
    )  # fmt: skip
    table = clip_embeddings[["video_id", "label", "split", "group"]].assign(cluster=assignments)
    silhouettes = info.pop("silhouette_table", None)
    figure = silhouette_k_figure(silhouettes) if silhouettes is not None else _note_figure(
        f"k = {info['k']} from {info['k_source']}: no silhouette search was needed"
    )
    logger.info("Clustering: %s, k=%s (%s)", params["algorithm"], info["k"], info["k_source"])
    return table, {"algorithm": params["algorithm"], **info}, figure


def _note_figure(text: str) -> Figure:
    fig = Figure(figsize=(5, 1.2))
    fig.text(0.5, 0.5, text, ha="center", va="center")
    return fig


def evaluate_clusters(
    clip_embeddings: pd.DataFrame, cluster_assignments: pd.DataFrame, params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, float], Figure, Figure]:
    """Scores (MLflow metrics and a JSON report), the t-SNE map and the cluster-vs-label matrix."""
    X = _features(clip_embeddings, params)
    labels = _labels(clip_embeddings)
    clusters = cluster_assignments["cluster"].to_numpy()
    scores = clustering_scores(X, clusters, labels)
    logger.info("Clustering scores: %s", {k: round(v, 4) for k, v in scores.items()})
    metrics = {f"{params['algorithm']}_{k}": {"value": float(v), "step": 0} for k, v in scores.items() if np.isfinite(v)}
    tsne = tsne_figure(X, labels=labels, clusters=clusters, seed=params["seed"], title=f"{len(X)} clips")
    confusion = (
        confusion_figure(labels, clusters, title=f"{params['algorithm']} clusters vs labels")
        if labels is not None else _note_figure("no labels: nothing to compare the clusters with")
    )  # fmt: skip
    return metrics, {k: float(v) for k, v in scores.items()}, tsne, confusion


def analyse_centroids(clip_embeddings: pd.DataFrame, params: dict[str, Any]) -> tuple[pd.DataFrame, Figure]:
    """Per-class centroid distances and radii on the clustering features (labels required)."""
    labels = _labels(clip_embeddings)
    if labels is None:
        return pd.DataFrame(), _note_figure("no labels: centroid analysis needs a label per clip")
    distances, summary = centroid_analysis(_features(clip_embeddings, params), labels)
    return summary, centroid_distance_figure(distances, summary)
