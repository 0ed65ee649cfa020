"""Threshold rules on hand-made score lists, checked against hand values and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from actionlab.anomaly.thresholds import THRESHOLD_RULES, choose_threshold, flagged_stretches

TARGET = [0.10, 0.40, 0.35, 0.80, 0.20, 0.55]
COMPETITIVE = [0.30, 0.90, 0.70, 0.50, 0.60, 0.85, 0.45]


def _rates(threshold: float) -> tuple[float, float, float]:
    """Hand-counted (F1, TPR, FPR) when clips with score >= threshold are flagged."""
    tp = sum(s >= threshold for s in COMPETITIVE)
    fp = sum(s >= threshold for s in TARGET)
    fn = len(COMPETITIVE) - tp
    f1 = 2 * tp / (2 * tp + fp + fn)
    return f1, tp / len(COMPETITIVE), fp / len(TARGET)


def _brute_force(measure: str) -> float:
    """Best value over every possible cut (each score, and above them all)."""
    cuts = sorted(set(TARGET + COMPETITIVE)) + [10.0]
    f1_or_j = [(_rates(c)[0] if measure == "f1" else _rates(c)[1] - _rates(c)[2]) for c in cuts]
    return max(f1_or_j)


def test_percentile_of_1_to_100() -> None:
    scores = np.arange(1, 101)
    threshold, details = choose_threshold("percentile", scores, percentile=95)
    assert threshold == pytest.approx(95.05)  # linear interpolation between the 95th and 96th value
    assert details["rule"] == "percentile" and details["percentile"] == 95
    assert details["flagged_share"] == pytest.approx(0.05)  # 96..100
    assert choose_threshold("percentile", scores, percentile=50)[0] == pytest.approx(50.5)
    assert choose_threshold("percentile", scores, percentile=100)[0] == 100


@pytest.mark.parametrize("rule", ["f1", "youden"])
def test_optimum_matches_brute_force(rule: str) -> None:
    threshold, details = choose_threshold(rule, TARGET, COMPETITIVE)
    f1, tpr, fpr = _rates(threshold)
    reached = f1 if rule == "f1" else tpr - fpr
    assert reached == pytest.approx(_brute_force(rule))
    assert details[rule] == pytest.approx(reached)
    assert details["tpr"] == pytest.approx(tpr) and details["fpr"] == pytest.approx(fpr)
    # the threshold sits strictly between two observed scores: no clip lies on it
    assert threshold not in TARGET + COMPETITIVE


def test_f1_and_youden_differ_on_a_list_where_they_should() -> None:
    """Many positives: F1 prefers flagging more (recall), Youden balances the two rates."""
    target = [0.0, 1.0, 2.0, 3.0]
    competitive = [2.5, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
    best = {}
    for rule in ("f1", "youden"):
        threshold, _ = choose_threshold(rule, target, competitive)
        best[rule] = threshold
    # by hand: F1 is best at cut 2.5 (tp 10, fp 1: 20/21), Youden at cut 4 (tpr .9 - fpr 0 = .9
    # against 1 - .25 = .75 at 2.5)
    assert 2.0 < best["f1"] < 2.5
    assert 3.0 < best["youden"] < 4.0


def test_perfect_separation_cuts_half_way() -> None:
    for rule in ("f1", "youden"):
        threshold, details = choose_threshold(rule, [1, 2, 3], [4, 5, 6])
        assert threshold == pytest.approx(3.5)
        assert details[rule] == pytest.approx(1.0)
        assert details["tpr"] == 1.0 and details["fpr"] == 0.0


def test_rules_that_need_a_competitive_class_say_so() -> None:
    assert set(THRESHOLD_RULES) == {"percentile", "f1", "youden"}
    with pytest.raises(ValueError, match="competitive"):
        choose_threshold("f1", TARGET)
    with pytest.raises(ValueError, match="unknown threshold rule"):
        choose_threshold("otsu", TARGET)
    with pytest.raises(ValueError, match="no target scores"):
        choose_threshold("percentile", [])


def test_flagged_stretches() -> None:
    times = np.arange(10) * 0.5
    scores = [0, 3, 3, 0, 0, 5, 0, 2, 2, 2]
    assert flagged_stretches(times, scores, 2.0) == [(0.5, 1.0), (2.5, 2.5), (3.5, 4.5)]
    assert flagged_stretches(times, scores, 6.0) == []
    assert flagged_stretches(times, np.full(10, 9.0), 1.0) == [(0.0, 4.5)]


def test_brute_force_helper_is_not_trivial() -> None:
    """The lists are not separable, so the optimum is below 1 (the test above can fail)."""
    assert _brute_force("f1") < 1 and _brute_force("youden") < 1
    assert any(a > b for a, b in itertools.product(TARGET, COMPETITIVE))
