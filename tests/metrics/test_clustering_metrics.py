"""Clustering scores on hand-made assignments with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from actionlab.metrics.clustering import (
    cluster_label_mapping,
    clustering_scores,
    contingency,
    hungarian_accuracy,
    purity,
    subset_scores,
)


def test_permuted_ids_score_one_where_raw_ids_score_zero() -> None:
    y_true = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    y_pred = [1, 1, 1, 2, 2, 2, 0, 0, 0, 0]
    assert np.mean(np.asarray(y_true) == np.asarray(y_pred)) == 0.0
    assert hungarian_accuracy(y_true, y_pred) == 1.0
    assert cluster_label_mapping(y_true, y_pred) == {0: 2, 1: 0, 2: 1}


def test_string_labels_permuted() -> None:
    y_true = ["walk", "walk", "run", "run", "jump"]
    y_pred = [2, 2, 0, 0, 1]
    assert hungarian_accuracy(y_true, y_pred) == 1.0
    assert cluster_label_mapping(y_true, y_pred) == {0: "run", 1: "jump", 2: "walk"}


def test_eight_of_ten() -> None:
    y_true = ["a"] * 5 + ["b"] * 5
    y_pred = [0, 0, 0, 0, 1, 1, 1, 1, 1, 0]
    assert hungarian_accuracy(y_true, y_pred) == pytest.approx(0.8)
    assert purity(y_true, y_pred) == pytest.approx(0.8)


def test_purity_and_accuracy_hand_computed() -> None:
    # cluster 0: a a b -> 2, cluster 1: b b c -> 2, cluster 2: c c c a -> 3  => 7 / 10
    y_true = ["a", "a", "b", "b", "b", "c", "c", "c", "c", "a"]
    y_pred = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    assert purity(y_true, y_pred) == pytest.approx(0.7)
    assert hungarian_accuracy(y_true, y_pred) == pytest.approx(0.7)


def test_more_clusters_than_labels() -> None:
    y_true = ["a", "a", "a", "a", "b", "b", "b", "b"]
    y_pred = [0, 0, 1, 1, 2, 2, 2, 2]
    # one-to-one: b <- cluster 2 (4), a <- cluster 0 or 1 (2); the other a-cluster is unmatched
    assert hungarian_accuracy(y_true, y_pred) == pytest.approx(6 / 8)
    assert purity(y_true, y_pred) == 1.0
    assert cluster_label_mapping(y_true, y_pred) == {0: "a", 1: "a", 2: "b"}


def test_more_labels_than_clusters() -> None:
    y_true = ["a", "a", "b", "b", "c", "c"]
    y_pred = [0, 0, 0, 0, 1, 1]
    assert hungarian_accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    assert purity(y_true, y_pred) == pytest.approx(4 / 6)
    mapping = cluster_label_mapping(y_true, y_pred)
    assert mapping[1] == "c" and mapping[0] in {"a", "b"}


def test_noise_is_never_right() -> None:
    y_true = ["a", "a", "a", "b", "b", "b"]
    y_pred = [0, 0, -1, 1, 1, -1]
    assert hungarian_accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    assert purity(y_true, y_pred) == pytest.approx(4 / 6)
    assert cluster_label_mapping(y_true, y_pred) == {0: "a", 1: "b", -1: None}
    assert hungarian_accuracy(y_true, [-1] * 6) == 0.0
    table = contingency(y_true, y_pred)
    assert list(table.index) == [0, 1, -1]
    assert table.loc[-1].tolist() == [1, 1]


def test_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="same length"):
        hungarian_accuracy(["a", "b"], [0])


def test_scores_match_sklearn() -> None:
    rng = np.random.default_rng(3)
    y_true = rng.choice(["a", "b", "c", "d"], size=40)
    y_pred = rng.integers(0, 5, size=40)
    X = rng.normal(size=(40, 3))
    s = clustering_scores(X, y_pred, y_true)
    assert s["nmi"] == pytest.approx(normalized_mutual_info_score(y_true, y_pred))
    assert s["ari"] == pytest.approx(adjusted_rand_score(y_true, y_pred))
    assert s["accuracy"] == pytest.approx(hungarian_accuracy(y_true, y_pred))
    assert s["purity"] == pytest.approx(purity(y_true, y_pred))
    assert s["n_clusters"] == float(len(np.unique(y_pred)))
    assert s["n_noise"] == 0.0
    assert s["n_labelled"] == 40.0


def test_silhouette_hand_computed_and_noise_left_out() -> None:
    X = np.array([[0.0], [1.0], [10.0], [11.0], [100.0]])
    y_pred = [0, 0, 1, 1, -1]
    expected = (2 * (1 - 1 / 10.5) + 2 * (1 - 1 / 9.5)) / 4
    s = clustering_scores(X, y_pred)
    assert s["silhouette"] == pytest.approx(expected)
    assert s["n_clusters"] == 2.0 and s["n_noise"] == 1.0
    assert set(s) == {"silhouette", "n_clusters", "n_noise"}


def test_silhouette_nan_for_one_cluster_or_n_le_k() -> None:
    X = np.arange(8.0).reshape(4, 2)
    assert math.isnan(clustering_scores(X, [0, 0, 0, 0])["silhouette"])
    assert math.isnan(clustering_scores(X[:3], [0, 1, 2])["silhouette"])
    assert math.isnan(clustering_scores(X, [-1, -1, -1, -1])["silhouette"])


def test_missing_labels_are_left_out_of_supervised_scores() -> None:
    X = np.arange(12.0).reshape(6, 2)
    s = clustering_scores(X, [0, 0, 1, 1, 1, 0], ["a", "a", "b", "b", None, ""])
    assert s["n_labelled"] == 4.0
    assert s["accuracy"] == 1.0 and s["nmi"] == pytest.approx(1.0)
    assert "nmi" not in clustering_scores(X, [0, 0, 1, 1, 1, 0], [None] * 6)


def test_subset_scores_judge_only_the_kept_points() -> None:
    X = np.array([[0.0], [1.0], [10.0], [11.0], [20.0], [21.0]])
    y_true = ["a", "a", "b", "b", "c", "c"]
    y_pred = [0, 1, 1, 1, 2, 2]  # point 1 is wrong
    keep = [True, False, True, True, True, True]
    scores, reason = subset_scores(X, y_pred, y_true, keep=keep, k=3)
    assert reason is None
    assert scores["accuracy"] == 1.0 and scores["purity"] == 1.0
    assert scores["n_clips"] == 5.0 and scores["n_labelled"] == 5.0 and scores["n_clusters"] == 3.0
    whole, _ = subset_scores(X, y_pred, y_true, k=3)
    assert whole["accuracy"] == pytest.approx(5 / 6) and whole["n_clips"] == 6.0


def test_subset_scores_nan_with_a_reason_when_too_small() -> None:
    X = np.arange(12.0).reshape(6, 2)
    y_pred = [0, 0, 1, 1, 2, 2]
    y_true = list("aabbcc")
    scores, reason = subset_scores(X, y_pred, y_true, keep=[1, 1, 0, 0, 0, 0], k=3)
    assert "fewer than k = 3" in reason
    assert all(math.isnan(scores[s]) for s in ("nmi", "ari", "accuracy", "purity", "silhouette"))
    assert scores["n_clips"] == 2.0
    scores, reason = subset_scores(X, y_pred, y_true, keep=[1, 1, 0, 0, 0, 0])
    assert "1 cluster(s) present" in reason and math.isnan(scores["nmi"])
    scores, reason = subset_scores(X, y_pred, y_true, keep=[0] * 6, k=3)
    assert reason == "no clips" and scores["n_clips"] == 0.0 and scores["n_labelled"] == 0.0
    scores, reason = subset_scores(X, y_pred, None, keep=[1] * 6, k=3)
    assert reason is None and math.isnan(scores["nmi"]) and scores["silhouette"] > 0
    with pytest.raises(ValueError, match="keep"):
        subset_scores(X, y_pred, y_true, keep=[True] * 5)
