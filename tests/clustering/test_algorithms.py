"""Clustering algorithms, feature preparation and the choice of k, on real computations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from actionlab.clustering.algorithms import (
    ALGORITHMS,
    choose_k,
    cluster,
    cluster_both,
    fit_predict,
    prepare_features,
)


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated Gaussian blobs in 5-D, 20 points each."""
    rng = np.random.default_rng(0)
    centers = np.array([[0.0] * 5, [10.0] * 5, [-10.0, 10.0, -10.0, 10.0, -10.0]])
    X = np.vstack([c + rng.normal(0, 0.5, (20, 5)) for c in centers])
    y = np.repeat(["a", "b", "c"], 20)
    return X, y


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_algorithm_recovers_three_blobs(blobs, algorithm: str) -> None:
    X, y = blobs
    params = {"min_cluster_size": 10} if algorithm == "hdbscan" else None
    pred = fit_predict(prepare_features(X), algorithm=algorithm, n_clusters=3, params=params)
    assert pred.dtype == np.int64 and pred.shape == (60,)
    assert normalized_mutual_info_score(y, pred) == pytest.approx(1.0)
    assert (pred == -1).sum() == 0


def test_choose_k_picks_three(blobs) -> None:
    X, _ = blobs
    k, table = choose_k(X, algorithm="kmeans", k_range=(2, 6))
    assert k == 3
    assert list(table.columns) == ["k", "silhouette"]
    assert table["k"].tolist() == [2, 3, 4, 5, 6]
    assert table.loc[table["k"] == 3, "silhouette"].item() == table["silhouette"].max()


def test_choose_k_range_clamped_to_n_minus_one() -> None:
    X = np.array([[0.0], [0.1], [5.0], [5.1], [10.0], [10.1]])
    k, table = choose_k(X, algorithm="agglomerative", k_range=(1, 10))
    assert table["k"].tolist() == [2, 3, 4, 5]
    assert k == 3


def test_cluster_k_from_labels_ignores_missing(blobs) -> None:
    X, y = blobs
    labels = list(y)
    labels[0], labels[21] = None, ""
    pred, info = cluster(X, labels=labels, algorithm="agglomerative")
    assert info["k"] == 3 and info["k_source"] == "labels"
    assert "silhouette_table" not in info
    assert normalized_mutual_info_score(y, pred) == pytest.approx(1.0)
    assert info["n_samples"] == 60 and info["n_features"] == 5 and info["n_noise"] == 0


def test_cluster_explicit_k_wins(blobs) -> None:
    X, y = blobs
    pred, info = cluster(X, labels=y, algorithm="kmeans", k=2)
    assert info["k"] == 2 and info["k_source"] == "param"
    assert len(np.unique(pred)) == 2


def test_cluster_without_labels_uses_silhouette(blobs) -> None:
    X, y = blobs
    pred, info = cluster(X, labels=None, algorithm="gmm", k_range=(2, 5))
    assert info["k"] == 3 and info["k_source"] == "silhouette"
    assert info["silhouette_table"]["k"].tolist() == [2, 3, 4, 5]
    assert normalized_mutual_info_score(y, pred) == pytest.approx(1.0)


def test_cluster_hdbscan_finds_its_own_k(blobs) -> None:
    X, y = blobs
    pred, info = cluster(X, labels=y, algorithm="hdbscan", k=7, params={"min_cluster_size": 10})
    assert info["k"] == 3 and info["k_source"] == "hdbscan"
    assert normalized_mutual_info_score(y, pred) == pytest.approx(1.0)


def test_hdbscan_marks_noise() -> None:
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 0.1, (15, 2)), rng.normal(5, 0.1, (15, 2)), [[50.0, -50.0]]])
    pred = fit_predict(X, algorithm="hdbscan", params={"min_cluster_size": 5})
    assert pred[-1] == -1
    assert len(np.unique(pred[:-1])) == 2


def test_same_seed_same_result(blobs) -> None:
    X, _ = blobs
    a = fit_predict(X, algorithm="gmm", n_clusters=4, seed=7)
    b = fit_predict(X, algorithm="gmm", n_clusters=4, seed=7)
    assert np.array_equal(a, b)


def test_gmm_default_works_with_more_dims_than_samples() -> None:
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(0, 1, (6, 50)), rng.normal(8, 1, (6, 50))])
    pred = fit_predict(X, algorithm="gmm", n_clusters=2)
    assert normalized_mutual_info_score([0] * 6 + [1] * 6, pred) == pytest.approx(1.0)


def test_prepare_features_standardize_and_pca() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(5, 3, (30, 8)) * np.arange(1, 9)
    Z = prepare_features(X)
    assert np.allclose(Z.mean(axis=0), 0) and np.allclose(Z.std(axis=0), 1)
    assert np.array_equal(prepare_features(X, standardize=False), X)
    assert prepare_features(X, pca_components=3).shape == (30, 3)
    assert prepare_features(X[:5], pca_components=50).shape == (5, 5)  # clamped to n
    low_rank = rng.normal(size=(30, 2)) @ rng.normal(size=(2, 8))
    assert prepare_features(low_rank, standardize=False, pca_components=0.99).shape == (30, 2)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "ten", True])
def test_bad_pca_components_names_parameter(bad) -> None:
    with pytest.raises(ValueError, match="clustering.pca_components"):
        prepare_features(np.ones((4, 3)) * np.arange(4)[:, None], pca_components=bad)


def test_unknown_algorithm_names_parameter_and_choices() -> None:
    with pytest.raises(ValueError, match="clustering.algorithm") as err:
        fit_predict(np.zeros((4, 2)), algorithm="dbscan", n_clusters=2)
    for name in ALGORITHMS:
        assert name in str(err.value)
    with pytest.raises(ValueError, match="clustering.algorithm"):
        cluster(np.zeros((4, 2)), labels=None, algorithm="spectral")


def test_too_many_clusters_gives_numbers() -> None:
    with pytest.raises(ValueError, match=r"n_clusters=5 .*n_samples=3"):
        fit_predict(np.arange(6.0).reshape(3, 2), algorithm="kmeans", n_clusters=5)
    with pytest.raises(ValueError, match="clustering.k"):
        cluster(np.arange(6.0).reshape(3, 2), labels=["a", "b", "c", "d"][:3], k=4)


def test_other_errors_name_parameters() -> None:
    X = np.arange(12.0).reshape(6, 2)
    with pytest.raises(ValueError, match="clustering.params"):
        fit_predict(X, algorithm="kmeans", n_clusters=2, params={"no_such_option": 1})
    with pytest.raises(ValueError, match="clustering.params"):
        fit_predict(X, algorithm="gmm", n_clusters=2, params={"covariance_type": "weird"})
    with pytest.raises(ValueError, match="clustering.params.min_cluster_size"):
        fit_predict(X, algorithm="hdbscan", params={"min_cluster_size": 99})
    with pytest.raises(ValueError, match="clustering.k"):
        fit_predict(X, algorithm="kmeans")
    with pytest.raises(ValueError, match="clustering.k_range"):
        choose_k(X[:2], k_range=(2, 10))
    with pytest.raises(ValueError, match="hdbscan"):
        choose_k(X, algorithm="hdbscan")
    with pytest.raises(ValueError, match="NaN"):
        fit_predict(np.array([[0.0, np.nan], [1.0, 1.0]]), n_clusters=1)


def test_cluster_both_label_free_k_ignores_the_labels(blobs) -> None:
    X, y = blobs
    four_labels = y.astype(object)
    four_labels[10:20] = "a2"  # blob a carries two labels: 4 labels on 3 blobs
    ref, free, info = cluster_both(X, labels=four_labels, algorithm="kmeans", k_range=(2, 6))
    assert info["k"] == 4 and info["k_source"] == "labels" and len(np.unique(ref)) == 4
    assert info["k_labelfree"] == 3 and info["k_source_labelfree"] == "silhouette"
    assert normalized_mutual_info_score(y, free) == pytest.approx(1.0)
    assert info["silhouette_table"]["k"].tolist() == [2, 3, 4, 5, 6]
    assert info["n_noise_labelfree"] == 0


def test_cluster_both_without_labels_is_one_clustering(blobs) -> None:
    X, _ = blobs
    ref, free, info = cluster_both(X, labels=None, algorithm="agglomerative", k_range=(2, 5))
    assert free is ref
    assert info["k"] == info["k_labelfree"] == 3
    assert info["k_source"] == info["k_source_labelfree"] == "silhouette"
    assert "silhouette_table" in info


def test_cluster_both_explicit_k_and_hdbscan(blobs) -> None:
    X, y = blobs
    ref, free, info = cluster_both(X, labels=y, algorithm="kmeans", k=5, k_range=(2, 6))
    assert (info["k"], info["k_source"]) == (5, "param")
    assert (info["k_labelfree"], info["k_source_labelfree"]) == (3, "silhouette")
    _, _, hinfo = cluster_both(X, labels=y, algorithm="hdbscan", params={"min_cluster_size": 10})
    assert hinfo["k_labelfree"] == hinfo["k"] == 3 and hinfo["k_source_labelfree"] == "hdbscan"
    assert "silhouette_table" not in hinfo
