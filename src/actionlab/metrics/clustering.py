"""Scores for a clustering, with and without ground-truth labels.

Conventions shared by every function here:

* ``y_pred`` holds integer cluster ids; ``-1`` means noise (HDBSCAN). Noise is never matched
  to a label, so noise points always count as wrong in :func:`hungarian_accuracy` and
  :func:`purity`.
* ``y_true`` holds labels of any hashable type (usually strings). In :func:`clustering_scores`
  missing labels (``None``, NaN, ``""``) are left out of the supervised scores; the other
  functions take the labels as given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score

NOISE = -1


def is_missing_label(value: Any) -> bool:
    """True for ``None``, NaN and empty / blank strings."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _as_pair(y_true: Sequence[Any], y_pred: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(list(y_true), dtype=object)
    p = np.asarray(y_pred)
    if p.ndim != 1 or t.shape[0] != p.shape[0]:
        raise ValueError(
            f"y_true and y_pred must be 1-D and the same length; got {t.shape[0]} labels "
            f"and y_pred of shape {p.shape}."
        )
    if p.size and not np.issubdtype(p.dtype, np.integer):
        if not np.all(np.equal(np.mod(p.astype(float), 1), 0)):
            raise ValueError("y_pred must hold integer cluster ids (-1 for noise).")
        p = p.astype(int)
    return t, p.astype(int, copy=False)


def ordered_labels(values: np.ndarray) -> list[Any]:
    """Distinct values, sorted when they sort, else in order of first appearance."""
    uniq = list(pd.unique(pd.Series(values, dtype=object)))
    try:
        return sorted(uniq)
    except TypeError:
        return uniq


def contingency(y_true: Sequence[Any], y_pred: Sequence[int]) -> pd.DataFrame:
    """Counts table: rows are cluster ids (sorted, noise last), columns are labels (sorted)."""
    t, p = _as_pair(y_true, y_pred)
    labels = ordered_labels(t)
    clusters = sorted(int(c) for c in np.unique(p) if c != NOISE)
    if np.any(p == NOISE):
        clusters.append(NOISE)
    table = pd.DataFrame(
        0,
        index=pd.Index(clusters, name="cluster"),
        columns=pd.Index(labels, name="label"),
        dtype=int,
    )
    if len(t):
        counts = pd.crosstab(pd.Series(p, name="cluster"), pd.Series(t, name="label"))
        table.loc[counts.index, counts.columns] = counts.to_numpy()
    return table


def hungarian_match(table: pd.DataFrame) -> dict[int, Any]:
    """One-to-one cluster -> label matching of a :func:`contingency` table, maximising the
    matched counts. Noise is never matched, nor is a pair that shares no point."""
    real = table.drop(index=NOISE, errors="ignore")
    if real.empty or real.shape[1] == 0:
        return {}
    counts = real.to_numpy()
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return {
        int(real.index[r]): real.columns[c]
        for r, c in zip(rows, cols, strict=True)
        if counts[r, c] > 0
    }


def hungarian_accuracy(y_true: Sequence[Any], y_pred: Sequence[int]) -> float:
    """Accuracy under the best one-to-one matching of clusters to labels.

    Solved with ``scipy.optimize.linear_sum_assignment`` on the cluster x label contingency
    matrix; works for any number of clusters and labels (surplus clusters or labels stay
    unmatched and their points count as wrong). Noise (-1) is never matched.
    """
    table = contingency(y_true, y_pred)
    n = int(table.to_numpy().sum())
    if n == 0:
        return float("nan")
    matched = hungarian_match(table)
    return float(sum(table.at[c, lab] for c, lab in matched.items()) / n)


def cluster_label_mapping(y_true: Sequence[Any], y_pred: Sequence[int]) -> dict[int, Any]:
    """Cluster id -> label: the Hungarian match, else the cluster's majority label.

    Clusters left unmatched (more clusters than labels) get their majority label (ties go to
    the first label in sorted order), so several clusters may map to one label. Noise (-1), when
    present, maps to ``None``. Keys and values are plain Python objects (JSON-friendly).
    """
    table = contingency(y_true, y_pred)
    mapping = hungarian_match(table)
    out: dict[int, Any] = {}
    for cid in table.index:
        c = int(cid)
        if c == NOISE:
            out[c] = None
        else:
            label = mapping[c] if c in mapping else table.loc[c].idxmax()
            out[c] = label.item() if isinstance(label, np.generic) else label  # JSON-friendly
    return out


def purity(y_true: Sequence[Any], y_pred: Sequence[int]) -> float:
    """Share of points that carry their cluster's majority label (noise points count as wrong)."""
    table = contingency(y_true, y_pred)
    n = int(table.to_numpy().sum())
    if n == 0:
        return float("nan")
    real = table.drop(index=NOISE, errors="ignore")
    return float(real.max(axis=1).sum() / n) if not real.empty else 0.0


def safe_silhouette(X: np.ndarray, y_pred: Sequence[int]) -> float:
    """Silhouette over the non-noise points; NaN when < 2 clusters or no more points than clusters."""
    X = np.asarray(X, dtype=float)
    p = np.asarray(y_pred).astype(int)
    keep = p != NOISE
    X, p = X[keep], p[keep]
    k = len(np.unique(p))
    if k < 2 or len(p) <= k:
        return float("nan")
    return float(silhouette_score(X, p))


def clustering_scores(
    X: np.ndarray, y_pred: Sequence[int], y_true: Sequence[Any] | None = None
) -> dict[str, float]:
    """Scores of one clustering, all as floats (ready for MLflow).

    Always: ``silhouette`` (on non-noise points; NaN when < 2 clusters or n <= k),
    ``n_clusters`` (distinct non-noise ids), ``n_noise``. When ``y_true`` has at least one
    non-missing label, also ``nmi``, ``ari`` (sklearn, noise as its own cluster), ``accuracy``
    (:func:`hungarian_accuracy`), ``purity`` and ``n_labelled``, all over the labelled points.
    """
    X = np.asarray(X, dtype=float)
    p = np.asarray(y_pred).astype(int)
    if X.ndim != 2 or X.shape[0] != p.shape[0]:
        raise ValueError(f"X must be (n, d) with n = len(y_pred) = {p.shape[0]}; got {X.shape}.")
    scores: dict[str, float] = {
        "silhouette": safe_silhouette(X, p),
        "n_clusters": float(len(np.unique(p[p != NOISE]))),
        "n_noise": float(np.sum(p == NOISE)),
    }
    if y_true is None:
        return scores
    t, p = _as_pair(y_true, p)
    keep = np.array([not is_missing_label(v) for v in t], dtype=bool)
    if not keep.any():
        return scores
    t, p = t[keep], p[keep]
    codes = pd.factorize(pd.Series(t, dtype=object))[0]
    scores.update(
        nmi=float(normalized_mutual_info_score(codes, p)),
        ari=float(adjusted_rand_score(codes, p)),
        accuracy=hungarian_accuracy(t, p),
        purity=purity(t, p),
        n_labelled=float(keep.sum()),
    )
    return scores


QUALITY_SCORES = ("nmi", "accuracy", "ari", "purity", "silhouette")
COUNT_SCORES = ("n_clips", "n_clusters", "n_noise", "n_labelled")


def subset_scores(
    X: np.ndarray,
    y_pred: Sequence[int],
    y_true: Sequence[Any] | None = None,
    *,
    keep: Sequence[bool] | None = None,
    k: int | None = None,
) -> tuple[dict[str, float], str | None]:
    """Scores of a clustering restricted to the points where ``keep`` is True; nothing is refitted.

    Returns ``(scores, reason)``. ``scores`` always has every name of :data:`COUNT_SCORES` and
    :data:`QUALITY_SCORES` (NaN where it cannot be computed, e.g. the supervised ones without
    labels). When the subset is too small to judge (no points, fewer points than ``k``, or fewer
    than two clusters present) the quality scores are NaN and ``reason`` says why; else ``None``.
    """
    X = np.asarray(X, dtype=float)
    p = np.asarray(y_pred).astype(int)
    mask = np.ones(len(p), dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    if mask.shape != p.shape:
        raise ValueError(f"keep has shape {mask.shape} but y_pred has {p.shape}.")
    t = None if y_true is None else np.asarray(list(y_true), dtype=object)[mask]
    found = clustering_scores(X[mask], p[mask], t)
    scores = {name: float("nan") for name in (*COUNT_SCORES, *QUALITY_SCORES)}
    scores.update(found, n_clips=float(mask.sum()))
    if np.isnan(scores["n_labelled"]):
        scores["n_labelled"] = 0.0
    n, present = int(mask.sum()), int(scores["n_clusters"])
    reason = None
    if n == 0:
        reason = "no clips"
    elif k is not None and n < k:
        reason = f"{n} clips, fewer than k = {k}"
    elif present < 2:
        reason = f"{present} cluster(s) present, at least 2 needed"
    if reason is not None:
        scores.update({name: float("nan") for name in QUALITY_SCORES})
    return scores, reason
