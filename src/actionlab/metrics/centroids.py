"""Per-class centroid analysis: how far each embedding lies from each class centroid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from actionlab.metrics.clustering import is_missing_label, ordered_labels

INSIDE_PREFIX = "inside_radius__"


def centroid_analysis(X: np.ndarray, labels: Sequence[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Distances of every embedding to every class centroid, and a per-class summary.

    Samples whose label is missing (``None``, NaN, ``""``) belong to no class and are left out.

    Returns ``(distances, summary)``:

    * ``distances``: one row per (labelled sample, class centroid) with columns ``sample``
      (row position in ``X``), ``label`` (the sample's class), ``centroid_label`` and
      ``distance`` (euclidean).
    * ``summary``: one row per class (sorted) with ``label``, ``n``, ``radius_same`` (centroid
      to farthest same-class point), ``nearest_other`` (centroid to closest other-class point;
      NaN with a single class), ``nearest_other_label``, one ``inside_radius__<label>`` column
      per class counting that class's points at distance <= ``radius_same`` (the same-class
      column always equals ``n``), and ``separated`` = ``nearest_other > radius_same`` (True
      with a single class: no other point can be inside).
    """
    X = np.asarray(X, dtype=float)
    labels = list(labels)
    if X.ndim != 2 or X.shape[0] != len(labels):
        raise ValueError(
            f"X must be (n, d) with n = len(labels) = {len(labels)}; got shape {X.shape}."
        )
    keep = np.array([not is_missing_label(v) for v in labels], dtype=bool)
    if not keep.any():
        raise ValueError("centroid_analysis needs at least one labelled sample; all are missing.")
    idx = np.flatnonzero(keep)
    y = np.asarray([str(labels[i]) for i in idx], dtype=object)
    Z = X[idx]
    classes = [str(c) for c in ordered_labels(y)]
    centroids = np.stack([Z[y == c].mean(axis=0) for c in classes])
    D = np.linalg.norm(Z[:, None, :] - centroids[None, :, :], axis=2)  # (n, n_classes)

    distances = pd.DataFrame(
        {
            "sample": np.repeat(idx, len(classes)),
            "label": np.repeat(y, len(classes)),
            "centroid_label": np.tile(np.asarray(classes, dtype=object), len(idx)),
            "distance": D.reshape(-1),
        }
    )

    rows = []
    for j, c in enumerate(classes):
        d = D[:, j]
        same = y == c
        radius = float(d[same].max())
        row: dict[str, Any] = {"label": c, "n": int(same.sum()), "radius_same": radius}
        if (~same).any():
            k = int(np.argmin(np.where(same, np.inf, d)))
            row["nearest_other"] = float(d[k])
            row["nearest_other_label"] = str(y[k])
        else:
            row["nearest_other"] = float("nan")
            row["nearest_other_label"] = None
        for other in classes:
            row[f"{INSIDE_PREFIX}{other}"] = int(np.sum((y == other) & (d <= radius)))
        row["separated"] = bool(not (row["nearest_other"] <= radius))
        rows.append(row)
    summary = pd.DataFrame(rows)
    return distances, summary
