"""The clustering nodes on synthetic blobs: both k choices, all clips and the unseen ones."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from sklearn.datasets import make_blobs
from sklearn.metrics import normalized_mutual_info_score

from actionlab.pipelines.clustering import create_pipeline
from actionlab.pipelines.clustering.nodes import cluster_clips, evaluate_clusters

CONF = Path(__file__).resolve().parents[2] / "conf" / "base"
N_BLOBS = 4


@pytest.fixture(scope="module")
def params() -> dict[str, Any]:
    """The shipped clustering parameters."""
    return yaml.safe_load((CONF / "parameters_clustering.yml").read_text())["clustering"]


def _clips(n: int = 64, splits: list[str] | None = None) -> pd.DataFrame:
    """Four well-separated blobs in 16-D, one label per blob; splits cycle train, train, val, test."""
    X, blob = make_blobs(
        n_samples=n, centers=N_BLOBS, n_features=16, cluster_std=0.6, random_state=3
    )
    label = np.array(["wave", "jump", "walk", "kick"])[blob]
    split = np.asarray(splits or ["train", "train", "val", "test"] * (n // 4), dtype=object)
    return pd.DataFrame(
        {"video_id": [f"v{i:03d}" for i in range(n)], "label": label, "split": split,
         "group": [f"g{i % 5}" for i in range(n)], "embedding": list(X), "blob": blob}
    )  # fmt: skip


def _run(clips: pd.DataFrame, params: dict[str, Any], ssl_splits=("train",)) -> tuple:
    embeddings = clips.drop(columns="blob")
    table, info, figure = cluster_clips(embeddings, params)
    metrics, report, *_ = evaluate_clusters(embeddings, table, info, params, list(ssl_splits))
    return table, info, figure, {k: v["value"] for k, v in metrics.items()}, report


def test_both_k_choices_and_both_subsets_are_reported(params) -> None:
    clips = _clips()
    table, info, figure, metrics, report = _run(clips, params)
    assert (info["k"], info["k_source"]) == (N_BLOBS, "labels")
    assert (info["k_labelfree"], info["k_source_labelfree"]) == (N_BLOBS, "silhouette")
    for column in ("cluster", "cluster_labelfree"):
        assert normalized_mutual_info_score(clips["blob"], table[column]) == pytest.approx(1)
    expected = {
        f"{score}{suffix}"
        for score in ("nmi", "accuracy", "ari", "purity", "silhouette", "n_clusters", "n_noise")
        for suffix in ("", "_unseen", "_labelfree", "_labelfree_unseen")
    }
    expected |= {"k", "k_labelfree", "n_clips", "n_clips_unseen"}
    expected |= {"n_labelled", "n_labelled_unseen"}
    assert set(metrics) == expected
    assert metrics["k_labelfree"] == N_BLOBS
    assert metrics["n_clips"] == 64 and metrics["n_clips_unseen"] == 32
    assert metrics["accuracy_labelfree_unseen"] == 1.0
    back = json.loads(json.dumps(report, allow_nan=False))
    assert back["nmi"] == metrics["nmi"] and back["k"] == N_BLOBS
    assert [(r["k_choice"], r["clips"], r["n_clips"]) for r in back["table"]] == [
        ("labels", "all", 64), ("labels", "unseen", 32),
        ("labelfree", "all", 64), ("labelfree", "unseen", 32),
    ]  # fmt: skip
    assert f"best k = {N_BLOBS}" in figure.axes[0].get_title()


def test_label_free_k_ignores_the_labels_and_is_marked_on_the_plot(params) -> None:
    clips = _clips()
    clips.loc[clips.index[clips["blob"] == 0][::2], "label"] = "wave_left"  # 5 labels, 4 blobs
    table, info, figure, metrics, _ = _run(clips, params)
    assert info["k"] == 5 and table["cluster"].nunique() == 5
    assert info["k_labelfree"] == N_BLOBS and metrics["k_labelfree"] == N_BLOBS
    assert normalized_mutual_info_score(clips["blob"], table["cluster_labelfree"]) == pytest.approx(
        1
    )
    # two labels share blob 0: one-to-one matching can get only one of them right
    assert metrics["purity_labelfree"] < 1 and metrics["accuracy_labelfree"] < 1
    marks = {ln.get_linestyle(): ln.get_xdata()[0] for ln in figure.axes[0].get_lines()[1:]}
    assert marks == {"--": N_BLOBS, ":": 5}  # label-free k dashed, k = labels dotted


def test_unseen_scores_use_only_clips_outside_the_ssl_splits(params) -> None:
    clips = _clips()
    embeddings = clips.drop(columns="blob")
    table, info, _ = cluster_clips(embeddings, params)
    train = (clips["split"] == "train").to_numpy()
    spoilt = table.copy()
    for column in ("cluster", "cluster_labelfree"):  # train clips: clusters wrong by construction
        spoilt.loc[train, column] = np.arange(train.sum()) % N_BLOBS
    metrics, *_ = evaluate_clusters(embeddings, spoilt, info, params, ["train"])
    value = {k: v["value"] for k, v in metrics.items()}
    for suffix in ("", "_labelfree"):
        assert value[f"nmi{suffix}_unseen"] == pytest.approx(1.0)
        assert value[f"accuracy{suffix}_unseen"] == 1.0
        assert value[f"nmi{suffix}"] < 0.6
    # with val counted as trained on, only the test clips are unseen
    metrics, *_ = evaluate_clusters(embeddings, spoilt, info, params, ["train", "val"])
    assert metrics["n_clips_unseen"]["value"] == 16


def test_too_few_unseen_clips_give_nan_and_a_logged_reason(params, caplog) -> None:
    splits = ["train"] * 62 + ["test"] * 2
    with caplog.at_level(logging.WARNING):
        _, info, _, metrics, report = _run(_clips(splits=splits), params)
    assert metrics["n_clips_unseen"] == 2
    assert "nmi_unseen" not in metrics and "nmi_labelfree_unseen" not in metrics
    assert metrics["nmi"] > 0.9
    unseen = [row for row in report["table"] if row["clips"] == "unseen"]
    assert all(row["nmi"] is None and row["note"] for row in unseen)
    assert f"2 clips, fewer than k = {N_BLOBS}" in caplog.text


def test_no_unseen_clips_do_not_stop_the_run(params) -> None:
    _, _, _, metrics, report = _run(_clips(splits=["train"] * 64), params)
    assert metrics["n_clips_unseen"] == 0 and "silhouette_unseen" not in metrics
    assert {row["note"] for row in report["table"] if row["clips"] == "unseen"} == {"no clips"}


def test_pipeline_wiring_reads_the_ssl_splits(params) -> None:
    embeddings = _clips().drop(columns="blob")
    catalog = DataCatalog(
        {"clip_embeddings": MemoryDataset(embeddings),
         "params:clustering": MemoryDataset(params),
         "params:ssl_training.splits": MemoryDataset(["train", "val"])}
    )  # fmt: skip
    pipeline = create_pipeline().only_nodes("clustering.cluster_clips", "clustering.evaluate_clusters")
    SequentialRunner().run(pipeline, catalog)
    metrics = catalog.load("clustering_metrics")
    assert metrics["n_clips_unseen"]["value"] == 16
    assert catalog.load("clustering_scores")["unseen"].endswith("['train', 'val']")
