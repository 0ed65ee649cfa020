"""Classification scores and leave-one-group-out folds (scikit-learn; no kedro)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    classification_report,
    f1_score,
    top_k_accuracy_score,
)
from sklearn.model_selection import LeaveOneGroupOut

MEASURES = ("accuracy", "top5_accuracy", "mean_class_accuracy", "macro_f1")
TOP_K = 5


def predicted_labels(proba: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
    """The most probable class of each row of ``proba`` (columns in ``classes`` order)."""
    return np.asarray(classes, dtype=object)[np.asarray(proba).argmax(1)]


def classification_scores(y_true: Sequence[Any], proba: np.ndarray, classes: Sequence[Any]) -> dict[str, float]:
    """Top-1 accuracy, top-5 accuracy (only with more than 5 classes), mean class accuracy
    (balanced accuracy: the mean of the per-class recalls) and macro-F1 of ``proba``."""
    y = np.asarray(y_true, dtype=object)
    pred = predicted_labels(proba, classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a predicted class absent from y_true
        scores = {
            "accuracy": float(accuracy_score(y, pred)),
            "mean_class_accuracy": float(balanced_accuracy_score(y, pred)),
            "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
        }
        if len(classes) > TOP_K:
            scores["top5_accuracy"] = float(
                top_k_accuracy_score(y, proba, k=TOP_K, labels=np.asarray(classes, dtype=object))
            )
    return {m: scores[m] for m in MEASURES if m in scores}


def per_class_report(y_true: Sequence[Any], y_pred: Sequence[Any], classes: Sequence[Any]) -> pd.DataFrame:
    """scikit-learn's classification report as a table: one row per class (precision, recall,
    f1-score, support), then the averages."""
    report = classification_report(
        np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object),
        labels=list(classes), output_dict=True, zero_division=0,
    )  # fmt: skip
    table = pd.DataFrame(report).T
    table.index.name = "class"
    return table.reset_index()


def group_folds(groups: Sequence[Any]) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Leave-one-group-out folds: (held-out group's name, train indices, test indices)."""
    groups = np.asarray(groups, dtype=object)
    splitter = LeaveOneGroupOut()
    for train, test in splitter.split(np.zeros(len(groups)), groups=groups):
        yield str(groups[test[0]]), train, test


def _proba(rows: pd.DataFrame, classes: Sequence[str], prefix: str) -> np.ndarray:
    return rows[[prefix + c for c in classes]].to_numpy(float)


def comparison_table(
    predictions: pd.DataFrame, costs: pd.DataFrame, classes: Sequence[str], *, prefix: str = "p_"
) -> pd.DataFrame:
    """One row per model: its scores (the mean over folds, with ``<measure>_std`` when there is
    more than one fold), pooled ``correct`` of ``clips``, and its costs (mean training time per
    fit, parameter count, inference clips/s). ``predictions`` has model, fold, label and one
    probability column ``<prefix><class>`` per class."""
    rows = []
    for model, own in predictions.groupby("model", sort=False):
        per_fold = pd.DataFrame([
            classification_scores(f["label"], _proba(f, classes, prefix), classes)
            for _, f in own.groupby("fold", sort=False)
        ])  # fmt: skip
        row: dict[str, Any] = {"model": model, "folds": len(per_fold)}
        for measure in per_fold.columns:
            row[measure] = float(per_fold[measure].mean())
            if len(per_fold) > 1:
                row[f"{measure}_std"] = float(per_fold[measure].std(ddof=0))
        row["correct"] = int((own["label"] == own["predicted"]).sum())
        row["clips"] = len(own)
        cost = costs[costs["model"] == model]
        row["train_time_s"] = float(cost["train_time_s"].mean())
        row["parameters"] = int(cost["parameters"].iloc[0])
        row["inference_clips_per_s"] = float(cost["inference_clips_per_s"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_metrics(table: pd.DataFrame) -> dict[str, float]:
    """``<model>.<measure>`` -> value for every score column (and its ``_std``) of the table."""
    out = {}
    for row in table.to_dict("records"):
        for key, value in row.items():
            if key.removesuffix("_std") in MEASURES or key in ("train_time_s", "inference_clips_per_s"):
                out[f"{row['model']}.{key}"] = float(value)
    return out
