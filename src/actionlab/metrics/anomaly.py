"""Anomaly scores of a target's one-class scorer, measured (scikit-learn; no kedro).

The negatives are the target's correct test clips, the positives (anomalous) are the clips of
another label, of all other labels, or the target's own incorrect executions. Every function
takes a table of test clips with columns ``label``, ``incorrect`` (bool) and ``score`` (higher =
more anomalous); a clip is flagged when ``score >= threshold``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, confusion_matrix, roc_auc_score

from actionlab.metrics.classification import per_class_report

ALL_OTHERS = "all_others"  # comparison: the target against every clip of another label
INCORRECT = "incorrect"  # comparison: the target against its own incorrect executions
TABLE_COLUMNS = ["comparison", "negatives", "positives", "roc_auc", "average_precision", "tpr"]


def separation(negative: np.ndarray, positive: np.ndarray) -> dict[str, float]:
    """ROC-AUC and average precision of ``positive`` (anomalous, label 1) against ``negative``
    scores; NaN when either side is empty."""
    negative, positive = np.asarray(negative, np.float64), np.asarray(positive, np.float64)
    if len(negative) == 0 or len(positive) == 0:
        return {"roc_auc": float("nan"), "average_precision": float("nan")}
    y = np.r_[np.zeros(len(negative)), np.ones(len(positive))]
    s = np.r_[negative, positive]
    return {"roc_auc": float(roc_auc_score(y, s)), "average_precision": float(average_precision_score(y, s))}


def _normal(scores: pd.DataFrame, target: str) -> pd.Series:
    return (scores["label"].astype(str) == str(target)) & ~scores["incorrect"].astype(bool)


def comparisons(scores: pd.DataFrame, target: str) -> dict[str, np.ndarray]:
    """The positive scores of each comparison: every other label (by name, sorted), ``all_others``
    and, when the target has incorrect clips, ``incorrect``."""
    labels = scores["label"].astype(str)
    out = {str(c): scores.loc[labels == c, "score"].to_numpy(float) for c in sorted(set(labels) - {str(target)})}
    out[ALL_OTHERS] = scores.loc[labels != str(target), "score"].to_numpy(float)
    own_incorrect = (labels == str(target)) & scores["incorrect"].astype(bool)
    if own_incorrect.any():
        out[INCORRECT] = scores.loc[own_incorrect, "score"].to_numpy(float)
    return out


def anomaly_table(scores: pd.DataFrame, target: str, threshold: float) -> pd.DataFrame:
    """One row per comparison (``comparisons``): the numbers of negatives and positives, ROC-AUC,
    average precision and the true-positive rate (share of positives flagged) at ``threshold``."""
    negative = scores.loc[_normal(scores, target), "score"].to_numpy(float)
    rows = []
    for name, positive in comparisons(scores, target).items():
        tpr = float((positive >= threshold).mean()) if len(positive) else float("nan")
        rows.append({"comparison": name, "negatives": len(negative), "positives": len(positive),
                     **separation(negative, positive), "tpr": tpr})  # fmt: skip
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def false_positive_rate(scores: pd.DataFrame, target: str, threshold: float) -> float:
    """The share of the target's correct test clips flagged at ``threshold`` (NaN when none)."""
    negative = scores.loc[_normal(scores, target), "score"].to_numpy(float)
    return float((negative >= threshold).mean()) if len(negative) else float("nan")


def anomaly_metrics(table: pd.DataFrame, fpr: float) -> dict[str, float]:
    """Flat metrics ``<measure>.<comparison>`` (roc_auc, average_precision, tpr) and ``fpr``."""
    out = {"fpr": float(fpr)}
    for row in table.to_dict("records"):
        for measure in ("roc_auc", "average_precision", "tpr"):
            out[f"{measure}.{row['comparison']}"] = float(row[measure])
    return out


def competitive_report(
    scores: pd.DataFrame, target: str, competitive: str, threshold: float
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Target (its correct test clips) against the ``competitive`` label's clips at ``threshold``:
    a clip is called ``competitive`` when flagged, else ``target``. Returns scikit-learn's
    classification report as a table, the confusion matrix (rows true, columns predicted, in the
    order target, competitive) and the true and predicted labels (for a figure)."""
    labels = scores["label"].astype(str)
    rows = scores[_normal(scores, target) | (labels == str(competitive))]
    if not (rows["label"].astype(str) == str(competitive)).any():
        raise ValueError(f"no test clips of the competitive class {competitive!r}")
    y_true = rows["label"].astype(str).to_numpy(object)
    y_pred = np.where(rows["score"].to_numpy(float) >= threshold, str(competitive), str(target)).astype(object)
    order = [str(target), str(competitive)]
    matrix = pd.DataFrame(confusion_matrix(y_true, y_pred, labels=order), index=order, columns=order)
    matrix.index.name, matrix.columns.name = "true", "predicted"
    return per_class_report(y_true, y_pred, order), matrix, {"y_true": y_true, "y_pred": y_pred, "labels": order}
