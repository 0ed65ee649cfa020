"""Clustering of embeddings: feature preparation, four algorithms, and the choice of k.

Error messages name the Kedro parameter to change (``clustering.<name>``).

Algorithms (``clustering.algorithm``):

* ``kmeans``: ``sklearn.cluster.KMeans`` with ``n_init=10``.
* ``agglomerative``: ``sklearn.cluster.AgglomerativeClustering`` with ``linkage="ward"``.
* ``gmm``: ``sklearn.mixture.GaussianMixture`` with ``covariance_type="diag"`` and ``n_init=5``.
  ``diag`` is the default because embeddings are high-dimensional and datasets small: a
  ``full`` covariance needs d*(d+1)/2 numbers per component and is singular when a cluster
  has fewer points than dimensions; ``diag`` needs d. Set ``params: {covariance_type: full}``
  after PCA to a few components if you want it.
* ``hdbscan``: ``sklearn.cluster.HDBSCAN``; ignores ``n_clusters`` and finds its own number of
  clusters; noise points get id ``-1``. ``min_cluster_size`` comes from ``params`` (default
  ``min(5, n_samples)``).

``params`` entries are passed to the estimator (they override the defaults above).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from actionlab.metrics.clustering import is_missing_label, safe_silhouette

ALGORITHMS = ("kmeans", "agglomerative", "gmm", "hdbscan")
HDBSCAN_DEFAULT_MIN_CLUSTER_SIZE = 5


def _as_matrix(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"Expected a non-empty 2-D feature matrix (n_samples, n_features); got {X.shape}."
        )
    if not np.isfinite(X).all():
        bad = int(np.sum(~np.isfinite(X).all(axis=1)))
        raise ValueError(f"The feature matrix has NaN or inf values in {bad} of {X.shape[0]} rows.")
    return X


def _check_algorithm(algorithm: str) -> None:
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"clustering.algorithm={algorithm!r} is unknown; choose one of {', '.join(ALGORITHMS)}."
        )


def prepare_features(
    X: np.ndarray,
    *,
    standardize: bool = True,
    pca_components: int | float | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Optionally standardise each feature (zero mean, unit variance) and reduce with PCA.

    ``pca_components``: ``None`` keeps all features; an int keeps that many components (clamped
    to ``min(n_samples, n_features)`` so small sets still work); a float in (0, 1) keeps the
    fewest components that explain that share of the variance.
    """
    X = _as_matrix(X)
    if standardize:
        X = StandardScaler().fit_transform(X)
    if pca_components is None:
        return X
    n, d = X.shape
    if isinstance(pca_components, bool) or not isinstance(pca_components, (int, float, np.number)):
        raise ValueError(
            f"clustering.pca_components={pca_components!r}; expected null, an int >= 1 "
            "or a float in (0, 1)."
        )
    if n < 2:
        raise ValueError(f"clustering.pca_components is set but PCA needs >= 2 samples; got {n}.")
    if float(pca_components).is_integer() and pca_components >= 1:
        n_comp: int | float = min(int(pca_components), n, d)
        solver = "auto"
    elif 0 < pca_components < 1:
        n_comp = float(pca_components)
        solver = "full"
    else:
        raise ValueError(
            f"clustering.pca_components={pca_components!r}; expected null, an int >= 1 "
            "or a float in (0, 1)."
        )
    return PCA(n_components=n_comp, svd_solver=solver, random_state=seed).fit_transform(X)


def fit_predict(
    X: np.ndarray,
    *,
    algorithm: str = "kmeans",
    n_clusters: int | None = None,
    seed: int = 0,
    params: dict[str, Any] | None = None,
) -> np.ndarray:
    """Cluster the rows of ``X``; returns integer cluster ids (``-1`` = noise, HDBSCAN only)."""
    _check_algorithm(algorithm)
    X = _as_matrix(X)
    n = X.shape[0]
    kw = dict(params or {})
    if algorithm == "hdbscan":
        mcs = kw.pop("min_cluster_size", None)
        if mcs is None:
            mcs = max(2, min(HDBSCAN_DEFAULT_MIN_CLUSTER_SIZE, n))
        elif int(mcs) < 2 or int(mcs) > n:
            raise ValueError(
                f"clustering.params.min_cluster_size={mcs} must be between 2 and the number of "
                f"samples ({n})."
            )
        if n < 2:
            raise ValueError(f"HDBSCAN needs at least 2 samples; got {n}.")
        kw.setdefault("copy", True)
        estimator: Any = _build(HDBSCAN, kw, min_cluster_size=int(mcs))
    else:
        if n_clusters is None:
            raise ValueError(
                f"clustering.algorithm={algorithm!r} needs a number of clusters; set clustering.k."
            )
        if isinstance(n_clusters, bool) or int(n_clusters) != n_clusters or n_clusters < 1:
            raise ValueError(f"clustering.k={n_clusters!r}; expected an int >= 1.")
        n_clusters = int(n_clusters)
        if n_clusters > n:
            raise ValueError(
                f"clustering.k: n_clusters={n_clusters} is larger than n_samples={n}; "
                f"use at most {n} clusters."
            )
        if algorithm == "kmeans":
            kw.setdefault("n_init", 10)
            estimator = _build(KMeans, kw, n_clusters=n_clusters, random_state=seed)
        elif algorithm == "agglomerative":
            kw.setdefault("linkage", "ward")
            estimator = _build(AgglomerativeClustering, kw, n_clusters=n_clusters)
        else:  # gmm
            kw.setdefault("covariance_type", "diag")
            kw.setdefault("n_init", 5)
            estimator = _build(GaussianMixture, kw, n_components=n_clusters, random_state=seed)
    try:
        labels = estimator.fit_predict(X)
    except TypeError as exc:  # includes sklearn's InvalidParameterError
        raise ValueError(
            f"clustering.params={params!r} rejected by {type(estimator).__name__}: {exc}"
        ) from exc
    return np.asarray(labels, dtype=np.int64)


def _build(cls: type, kw: dict[str, Any], **fixed: Any) -> Any:
    """Instantiate ``cls`` turning an unknown keyword into an error that names ``clustering.params``."""
    try:
        return cls(**fixed, **kw)
    except TypeError as exc:
        raise ValueError(f"clustering.params={kw!r} rejected by {cls.__name__}: {exc}") from exc


def choose_k(
    X: np.ndarray,
    *,
    algorithm: str = "kmeans",
    k_range: tuple[int, int] = (2, 10),
    seed: int = 0,
    params: dict[str, Any] | None = None,
) -> tuple[int, pd.DataFrame]:
    """Pick k with the best silhouette over ``k_range`` (inclusive, clamped to [2, n_samples-1]).

    Returns ``(k, table)`` with ``table`` columns ``k`` and ``silhouette``. Ties go to the
    smaller k; if no k yields two clusters (e.g. all points identical) the smallest k is returned.
    """
    _check_algorithm(algorithm)
    if algorithm == "hdbscan":
        raise ValueError(
            "clustering.algorithm='hdbscan' finds its own number of clusters; choose_k does not apply."
        )
    X = _as_matrix(X)
    n = X.shape[0]
    try:
        lo, hi = (int(v) for v in k_range)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"clustering.k_range={k_range!r}; expected two ints [min_k, max_k]."
        ) from exc
    lo, hi = max(lo, 2), min(hi, n - 1)
    if hi < lo:
        raise ValueError(
            f"clustering.k_range={tuple(k_range)!r} leaves no k to try with n_samples={n} "
            "(silhouette needs 2 <= k <= n_samples - 1); set clustering.k instead."
        )
    ks = list(range(lo, hi + 1))
    scores = [
        safe_silhouette(
            X, fit_predict(X, algorithm=algorithm, n_clusters=k, seed=seed, params=params)
        )
        for k in ks
    ]
    table = pd.DataFrame({"k": ks, "silhouette": scores})
    values = np.asarray(scores, dtype=float)
    best = ks[int(np.nanargmax(values))] if np.isfinite(values).any() else lo
    return best, table


def cluster(
    X: np.ndarray,
    *,
    labels: Sequence[Any] | None = None,
    algorithm: str = "kmeans",
    standardize: bool = True,
    pca_components: int | float | None = None,
    k: int | None = None,
    k_range: tuple[int, int] = (2, 10),
    seed: int = 0,
    params: dict[str, Any] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Prepare features, settle k, cluster. Returns ``(assignments, info)``.

    k is, in order: ``k`` when given (``k_source="param"``); else the number of distinct
    non-missing labels when there are at least two (``"labels"``); else the best silhouette over
    ``k_range`` (``"silhouette"``, and ``info["silhouette_table"]`` holds the table). HDBSCAN
    ignores all of this: ``k`` is the number of clusters it found and ``k_source="hdbscan"``.

    ``info`` keys: ``algorithm``, ``k``, ``k_source``, ``n_samples``, ``n_features`` (after
    preparation), ``n_noise``, and ``silhouette_table`` only when it was computed.
    """
    _check_algorithm(algorithm)
    Xp = prepare_features(X, standardize=standardize, pca_components=pca_components, seed=seed)
    n = Xp.shape[0]
    if labels is not None and len(labels) != n:
        raise ValueError(f"labels has {len(labels)} entries but X has {n} rows.")
    info: dict[str, Any] = {"algorithm": algorithm, "n_samples": n, "n_features": Xp.shape[1]}
    if algorithm == "hdbscan":
        assignments = fit_predict(Xp, algorithm=algorithm, seed=seed, params=params)
        info["k"] = len(np.unique(assignments[assignments >= 0]))
        info["k_source"] = "hdbscan"
    else:
        n_labels = 0
        if labels is not None:
            n_labels = len({str(v) for v in labels if not is_missing_label(v)})
        if k is not None:
            info["k"], info["k_source"] = k, "param"
        elif n_labels >= 2:
            info["k"], info["k_source"] = n_labels, "labels"
        else:
            best, table = choose_k(
                Xp, algorithm=algorithm, k_range=k_range, seed=seed, params=params
            )
            info["k"], info["k_source"], info["silhouette_table"] = best, "silhouette", table
        assignments = fit_predict(
            Xp, algorithm=algorithm, n_clusters=info["k"], seed=seed, params=params
        )
    info["n_noise"] = int(np.sum(assignments < 0))
    return assignments, info


LABEL_FREE_SOURCES = ("silhouette", "hdbscan")


def cluster_both(
    X: np.ndarray,
    *,
    labels: Sequence[Any] | None = None,
    k: int | None = None,
    **kwargs: Any,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The reference clustering and the label-free one. Returns ``(assignments,
    assignments_labelfree, info)``.

    The reference is :func:`cluster` with ``labels`` and ``k``; the label-free one is
    :func:`cluster` with neither (best silhouette over ``k_range``, or HDBSCAN's own k). When the
    reference already ignored the labels (``k_source`` ``silhouette`` or ``hdbscan``) it is the
    label-free one too and is not fitted twice. ``kwargs`` go to :func:`cluster`.

    ``info`` is the reference's (without its silhouette table) plus ``k_labelfree``,
    ``k_source_labelfree``, ``n_noise_labelfree`` and ``silhouette_table`` (the label-free
    search; absent for HDBSCAN).
    """
    assignments, info = cluster(X, labels=labels, k=k, **kwargs)
    if info["k_source"] in LABEL_FREE_SOURCES:
        free, free_info = assignments, dict(info)
    else:
        free, free_info = cluster(X, labels=None, k=None, **kwargs)
    table = info.pop("silhouette_table", None)
    table = free_info.get("silhouette_table", table)
    info.update(
        k_labelfree=free_info["k"],
        k_source_labelfree=free_info["k_source"],
        n_noise_labelfree=free_info["n_noise"],
    )
    if table is not None:
        info["silhouette_table"] = table
    return assignments, free, info
