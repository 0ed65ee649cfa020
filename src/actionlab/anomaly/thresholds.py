"""Anomaly thresholds by a named rule, and the stretches of a score curve above one (no kedro).

A clip (or window, or frame) is flagged anomalous when its score is ``>= threshold``.

- ``percentile``: the ``percentile``-th percentile of the target's validation scores (linear
  interpolation): about ``100 - percentile`` % of normal clips are flagged. Needs no anomalies.
- ``f1``: the cut that maximises F1 of "anomalous" on the target's scores (negatives) against a
  competitive class's scores (positives).
- ``youden``: the cut that maximises Youden's J = TPR - FPR on the same two score lists.

``f1`` and ``youden`` find the best cut with scikit-learn's ``precision_recall_curve`` /
``roc_curve`` (a cut at a score value ``s`` flags the scores ``>= s``) and put the threshold
half-way between that score and the next lower score, so the same clips are flagged but the
margin to the nearest kept clip is not zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

THRESHOLD_RULES = ("percentile", "f1", "youden")


def _scores(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    out = np.asarray(values, np.float64).ravel()
    if len(out) == 0:
        raise ValueError(f"no {what} scores to choose a threshold from")
    if not np.isfinite(out).all():
        raise ValueError(f"the {what} scores have non-finite values")
    return out


def _below(cut: float, scores: np.ndarray) -> float:
    """Half-way between ``cut`` and the highest score below it (``cut`` - 1 when none is below)."""
    lower = scores[scores < cut]
    return float((cut + lower.max()) / 2) if len(lower) else float(cut - 1.0)


def choose_threshold(
    rule: str,
    target_scores: Sequence[float] | np.ndarray,
    competitive_scores: Sequence[float] | np.ndarray | None = None,
    *,
    percentile: float = 95.0,
) -> tuple[float, dict[str, Any]]:
    """The threshold of ``rule`` (``THRESHOLD_RULES``) and the rule's details: the rule, the
    numbers of scores used and, for ``percentile``, the percentile; for ``f1`` / ``youden``, the
    value reached and the TPR, FPR (and precision) at the threshold on those scores.

    ``target_scores``: scores of the target's normal (validation) clips; ``competitive_scores``:
    scores of the competitive class (needed by ``f1`` and ``youden``)."""
    if rule not in THRESHOLD_RULES:
        raise ValueError(f"unknown threshold rule {rule!r}; expected one of {THRESHOLD_RULES}")
    target = _scores(target_scores, "target")
    if rule == "percentile":
        if not 0 <= percentile <= 100:
            raise ValueError(f"percentile must be in [0, 100], got {percentile}")
        value = float(np.percentile(target, percentile))
        return value, {"rule": rule, "percentile": float(percentile), "n_target": len(target),
                       "flagged_share": float((target >= value).mean())}  # fmt: skip
    if competitive_scores is None:
        raise ValueError(f"threshold rule {rule!r} needs the competitive class's scores")
    other = _scores(competitive_scores, "competitive class")
    scores = np.concatenate([target, other])
    y = np.r_[np.zeros(len(target)), np.ones(len(other))]
    if rule == "f1":
        precision, recall, cuts = precision_recall_curve(y, scores)
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        best = int(np.argmax(f1[:-1]))  # the last point (recall 0) has no cut
        cut, value = float(cuts[best]), float(f1[best])
    else:
        fpr, tpr, cuts = roc_curve(y, scores, drop_intermediate=False)
        finite = np.isfinite(cuts)
        j = np.where(finite, tpr - fpr, -np.inf)
        best = int(np.argmax(j))
        cut, value = float(cuts[best]), float(j[best])
    threshold = _below(cut, scores)
    flagged = scores >= threshold
    tp, fp = int((flagged & (y == 1)).sum()), int((flagged & (y == 0)).sum())
    details = {
        "rule": rule, rule: value, "n_target": len(target), "n_competitive": len(other),
        "tpr": tp / len(other), "fpr": fp / len(target),
        "precision": tp / max(tp + fp, 1),
    }  # fmt: skip
    return threshold, details


def flagged_stretches(times: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray,
                      threshold: float) -> list[tuple[float, float]]:  # fmt: skip
    """The runs of consecutive points with ``score >= threshold`` as (start time, end time) of
    their first and last point (a single flagged point gives start == end)."""
    t = np.asarray(times, np.float64)
    flagged = np.asarray(scores, np.float64) >= threshold
    if t.shape != flagged.shape:
        raise ValueError(f"times {t.shape} and scores {flagged.shape} differ in shape")
    edges = np.diff(np.r_[0, flagged.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(float(t[a]), float(t[b])) for a, b in zip(starts, ends, strict=True)]
