"""Which clips a target's one-class scorer trains, validates and is tested on (no kedro)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

CORRECT_VARIANTS = ("correct", "")  # variant values of a correct execution (missing = correct too)


def incorrect_mask(variants: Sequence[Any] | pd.Series | None, n: int | None = None) -> np.ndarray:
    """True where a clip's ``variant`` marks an incorrect execution: any value other than
    ``correct``, empty or missing. ``None`` (no variant column) -> all False (``n`` clips)."""
    if variants is None:
        if n is None:
            raise ValueError("give n when there is no variant column")
        return np.zeros(n, bool)
    values = pd.Series(variants, dtype=object)
    missing = values.isna().to_numpy()
    text = values.fillna("").astype(str).str.strip().str.lower()
    return ~missing & ~text.isin(CORRECT_VARIANTS).to_numpy()


@dataclass
class TargetSets:
    """Row indices of one target's clips: ``train`` (its correct train clips), ``val`` (its correct
    validation clips) and ``test`` (every other clip)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def target_sets(labels: Sequence[Any], splits: Sequence[Any], incorrect: np.ndarray, target: str) -> TargetSets:
    """Train on the target's correct clips of the train split, validate on its correct validation
    clips, test on all the rest (the target's correct test clips, its incorrect clips of every
    split and every clip of the other labels)."""
    labels = np.asarray(labels, dtype=object).astype(str)
    splits = np.asarray(splits, dtype=object).astype(str)
    normal = (labels == str(target)) & ~np.asarray(incorrect, bool)
    train = np.flatnonzero(normal & (splits == "train"))
    val = np.flatnonzero(normal & (splits == "val"))
    used = np.zeros(len(labels), bool)
    used[train] = used[val] = True
    return TargetSets(train, val, np.flatnonzero(~used))


NEAREST = "nearest"  # competitive class: the other label the scorer separates worst on validation


def competitive_label(
    scores: np.ndarray, labels: Sequence[Any], splits: Sequence[Any], sets: TargetSets, *, target: str,
    competitive: str | None,
) -> str | None:  # fmt: skip
    """The competitive class of ``target``: ``competitive`` itself when it names a label (None when
    it is the target), or with ``nearest`` the other label whose validation clips (train clips when
    it has none) have the lowest ROC-AUC against the target's own validation scores (its train
    scores when it has none). Test clips never choose it."""
    if competitive is None:
        return None
    labels = np.asarray(labels, dtype=object).astype(str)
    if competitive != NEAREST:
        if competitive not in set(labels):
            raise ValueError(f"anomaly.threshold.competitive={competitive!r} is not a label; labels: {sorted(set(labels))}")
        return None if competitive == str(target) else str(competitive)
    splits = np.asarray(splits, dtype=object).astype(str)
    own = scores[sets.val] if len(sets.val) else scores[sets.train]
    best: tuple[float, float, str] | None = None
    for label in sorted(set(labels) - {str(target), ""}):
        rows = labels == label
        seen = rows & (splits == "val") if (rows & (splits == "val")).any() else rows & (splits == "train")
        if not seen.any():
            continue
        other = scores[seen]
        auc = float(roc_auc_score(np.r_[np.zeros(len(own)), np.ones(len(other))], np.r_[own, other]))
        key = (auc, float(np.median(other)), str(label))
        best = key if best is None or key < best else best
    return None if best is None else str(best[2])


def threshold_clips(labels: Sequence[Any], splits: Sequence[Any], label: str) -> np.ndarray:
    """Rows of ``label`` that may set a threshold: its validation clips, else its train clips."""
    labels = np.asarray(labels, dtype=object).astype(str)
    splits = np.asarray(splits, dtype=object).astype(str)
    rows = labels == str(label)
    val = np.flatnonzero(rows & (splits == "val"))
    return val if len(val) else np.flatnonzero(rows & (splits == "train"))
