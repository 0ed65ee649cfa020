"""Embedding and clustering figures: structure, legends, and that they save to PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from actionlab.metrics.centroids import centroid_analysis
from actionlab.plots.embedding import (
    centroid_distance_figure,
    confusion_figure,
    silhouette_k_figure,
    tsne_figure,
)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, list[str], np.ndarray]:
    rng = np.random.default_rng(0)
    names = ["walking", "running", "jumping", "waving"]
    X = np.vstack([rng.normal(4 * i, 0.5, (6, 8)) for i in range(4)])
    labels = [n for n in names for _ in range(6)]
    clusters = np.repeat([2, 0, 3, 1], 6)
    return X, labels, clusters


def _saves(fig: Figure, path: Path) -> None:
    fig.savefig(path)
    assert path.stat().st_size > 1000


def _legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def test_tsne_two_panels_with_legends(data, tmp_path: Path) -> None:
    X, labels, clusters = data
    before = plt.get_fignums()
    fig = tsne_figure(X, labels=labels, clusters=clusters, title="demo")
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == before  # not registered with pyplot: nothing to close
    ax_labels, ax_clusters = fig.axes
    assert _legend_texts(ax_labels) == [
        "jumping (n=6)",
        "running (n=6)",
        "walking (n=6)",
        "waving (n=6)",
    ]
    texts = _legend_texts(ax_clusters)
    assert len(texts) == 4 and texts[0] == "cluster 0 \u2192 running (n=6)"
    assert ax_labels.get_xlabel() == "t-SNE 1" and "demo" in fig.get_suptitle()
    # a matched cluster takes its label's colour
    lab_colors = {
        t.get_text(): h.get_facecolor()
        for t, h in zip(
            ax_labels.get_legend().get_texts(), ax_labels.get_legend().legend_handles, strict=True
        )
    }
    cl_handle = ax_clusters.get_legend().legend_handles[0]
    assert np.allclose(cl_handle.get_facecolor(), lab_colors["running (n=6)"])
    _saves(fig, tmp_path / "tsne.png")


def test_tsne_one_panel_tiny_set_with_noise(tmp_path: Path) -> None:
    X = np.random.default_rng(1).normal(size=(5, 3))
    fig = tsne_figure(X, clusters=[0, 0, 1, 1, -1])
    assert len(fig.axes) == 1
    assert _legend_texts(fig.axes[0]) == ["cluster 0 (n=2)", "cluster 1 (n=2)", "noise (n=1)"]
    assert "perplexity 1.3" in fig.get_suptitle()
    _saves(fig, tmp_path / "tsne_small.png")


def test_tsne_labels_only_and_errors(data) -> None:
    X, labels, _ = data
    labels = list(labels)
    labels[0] = None
    fig = tsne_figure(X, labels=labels)
    assert len(fig.axes) == 1
    assert _legend_texts(fig.axes[0])[-1] == "unlabelled (n=1)"
    with pytest.raises(ValueError, match="perplexity"):
        tsne_figure(X, perplexity=100)
    with pytest.raises(ValueError, match="clusters has 3 entries"):
        tsne_figure(X, clusters=[0, 1, 2])


def test_centroid_distance_figure(data, tmp_path: Path) -> None:
    X, labels, _ = data
    distances, summary = centroid_analysis(X, labels)
    fig = centroid_distance_figure(distances, summary)
    assert len(fig.axes) == 4  # one panel per class; spare grid cells removed
    for ax, row in zip(fig.axes, summary.itertuples(), strict=True):
        assert len(ax.patches) == 4  # one box per true class
        assert f"centroid of {row.label}" in ax.get_title()
        radius_lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        assert len(radius_lines) == 1
        assert radius_lines[0].get_ydata()[0] == pytest.approx(row.radius_same)
    assert len(fig.legends) == 1
    _saves(fig, tmp_path / "centroids.png")


def test_confusion_figure_orders_columns_by_match(tmp_path: Path) -> None:
    y_true = ["a", "a", "b", "b", "c", "c", "c", None]
    y_pred = [2, 2, 0, 0, 1, 1, -1, 0]
    fig = confusion_figure(y_true, y_pred, title="test")
    assert len(fig.axes) == 2  # heat map + colour bar
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["b", "c", "a"]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "cluster 0",
        "cluster 1",
        "cluster 2",
        "noise",
    ]
    assert len(ax.texts) == 4 * 3
    assert "Hungarian accuracy 0.86" in ax.get_title()  # 6 of the 7 labelled points
    _saves(fig, tmp_path / "confusion.png")


def test_silhouette_k_figure(tmp_path: Path) -> None:
    table = pd.DataFrame({"k": [2, 3, 4, 5], "silhouette": [0.4, 0.8, 0.5, np.nan]})
    fig = silhouette_k_figure(table)
    assert len(fig.axes) == 1
    assert "best k = 3" in fig.axes[0].get_title()
    assert len(fig.axes[0].get_lines()) == 2
    _saves(fig, tmp_path / "silhouette.png")
    with pytest.raises(ValueError, match="silhouette"):
        silhouette_k_figure(pd.DataFrame({"k": [2]}))
