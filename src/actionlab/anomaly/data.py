"""Which clips a target's one-class scorer trains, validates and is tested on (no kedro)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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
