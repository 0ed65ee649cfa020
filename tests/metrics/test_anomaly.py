"""Anomaly metrics: AUC and average precision against scikit-learn and hand values, the
comparisons table, the false-positive rate and the target-vs-competitive report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from actionlab.metrics.anomaly import (
    anomaly_metrics,
    anomaly_table,
    competitive_report,
    false_positive_rate,
    separation,
)


def _scores() -> pd.DataFrame:
    """Target ``squat``: 4 correct test clips, 2 incorrect ones; ``jump`` and ``wave`` clips."""
    rows = [
        ("squat", False, 1.0), ("squat", False, 2.0), ("squat", False, 3.0), ("squat", False, 6.0),
        ("squat", True, 2.5), ("squat", True, 7.0),
        ("jump", False, 4.0), ("jump", False, 5.0), ("jump", True, 0.5),
        ("wave", False, 8.0), ("wave", False, 9.0),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["label", "incorrect", "score"])


def test_separation_by_hand() -> None:
    # pairs (positive > negative): 2.5 beats 1 and 2, 4 beats all three -> 5 of 6
    # ranking 4 (+), 3 (-), 2.5 (+): AP = 1/2 * 1 + 1/2 * 2/3
    out = separation(np.array([1.0, 2.0, 3.0]), np.array([2.5, 4.0]))
    assert out["roc_auc"] == pytest.approx(5 / 6)
    assert out["average_precision"] == pytest.approx(0.5 + 1 / 3)


def test_separation_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(1)
    negative, positive = rng.integers(0, 6, 30).astype(float), rng.integers(2, 9, 20).astype(float)
    out = separation(negative, positive)
    y, s = np.r_[np.zeros(30), np.ones(20)], np.r_[negative, positive]
    assert out["roc_auc"] == pytest.approx(roc_auc_score(y, s))
    assert out["average_precision"] == pytest.approx(average_precision_score(y, s))
    # AUC from the pair counts (ties count half), independently of scikit-learn
    wins = (positive[:, None] > negative[None]).sum() + 0.5 * (positive[:, None] == negative[None]).sum()
    assert out["roc_auc"] == pytest.approx(wins / (30 * 20))


def test_separation_of_an_empty_side_is_nan() -> None:
    assert np.isnan(separation(np.array([1.0]), np.array([]))["roc_auc"])


def test_anomaly_table() -> None:
    table = anomaly_table(_scores(), "squat", threshold=4.5).set_index("comparison")
    assert list(table.index) == ["jump", "wave", "all_others", "incorrect"]
    negatives = [1.0, 2.0, 3.0, 6.0]
    # jump 4, 5, 0.5 against the negatives: 4 and 5 beat 1, 2, 3 each, 0.5 beats none -> 6 of 12
    assert table.loc["jump", "roc_auc"] == pytest.approx(6 / 12)
    assert table.loc["wave", "roc_auc"] == 1.0
    assert table.loc["incorrect", "roc_auc"] == pytest.approx((2 + 4) / 8)  # 2.5 beats 1 and 2; 7 beats all 4
    assert table.loc["all_others", "positives"] == 5 and (table["negatives"] == 4).all()
    assert table.loc["jump", "tpr"] == pytest.approx(1 / 3)  # only 5.0 >= 4.5
    assert table.loc["all_others", "tpr"] == pytest.approx(3 / 5)
    assert table.loc["incorrect", "tpr"] == pytest.approx(1 / 2)
    others = [4.0, 5.0, 0.5, 8.0, 9.0]
    y = np.r_[np.zeros(4), np.ones(5)]
    assert table.loc["all_others", "average_precision"] == pytest.approx(
        average_precision_score(y, np.r_[negatives, others])
    )


def test_no_incorrect_row_without_incorrect_clips() -> None:
    scores = _scores()
    table = anomaly_table(scores[~(scores["label"].eq("squat") & scores["incorrect"])], "squat", 4.5)
    assert "incorrect" not in set(table["comparison"])


def test_false_positive_rate_and_flat_metrics() -> None:
    scores = _scores()
    assert false_positive_rate(scores, "squat", 4.5) == pytest.approx(1 / 4)  # 6.0 of 1, 2, 3, 6
    assert false_positive_rate(scores, "squat", 0.0) == 1.0
    metrics = anomaly_metrics(anomaly_table(scores, "squat", 4.5), 0.25)
    assert metrics["fpr"] == 0.25
    assert metrics["roc_auc.wave"] == 1.0 and metrics["tpr.incorrect"] == pytest.approx(0.5)
    assert set(metrics) == {"fpr"} | {f"{m}.{c}" for m in ("roc_auc", "average_precision", "tpr")
                                       for c in ("jump", "wave", "all_others", "incorrect")}  # fmt: skip


def test_competitive_report() -> None:
    report, matrix, pred = competitive_report(_scores(), "squat", "jump", threshold=4.5)
    # squat correct 1, 2, 3, 6 -> 6 flagged (called jump); jump 4, 5, 0.5 -> only 5 flagged
    assert matrix.loc["squat", "squat"] == 3 and matrix.loc["squat", "jump"] == 1
    assert matrix.loc["jump", "jump"] == 1 and matrix.loc["jump", "squat"] == 2
    rows = report.set_index("class")
    assert rows.loc["squat", "recall"] == pytest.approx(3 / 4)
    assert rows.loc["jump", "precision"] == pytest.approx(1 / 2)
    assert rows.loc["accuracy", "precision"] == pytest.approx(4 / 7)
    assert pred["labels"] == ["squat", "jump"] and len(pred["y_true"]) == 7
    with pytest.raises(ValueError, match="competitive class 'clap'"):
        competitive_report(_scores(), "squat", "clap", 4.5)
