"""Classification scores on hand-made predictions, and leave-one-group-out folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actionlab.metrics.classification import (
    classification_scores,
    comparison_table,
    group_folds,
    per_class_report,
)


def test_scores_on_hand_made_predictions():
    classes = ["a", "b", "c"]
    y = ["a", "a", "a", "b", "c"]
    proba = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.5, 0.1, 0.4]])
    # predicted a, a, b, b, a: 3 of 5 right; recalls a 2/3, b 1, c 0
    scores = classification_scores(y, proba, classes)
    assert scores["accuracy"] == pytest.approx(0.6)
    assert scores["mean_class_accuracy"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    # F1 a: p 2/3 r 2/3 -> 2/3; b: p 1/2 r 1 -> 2/3; c: 0
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert "top5_accuracy" not in scores  # only with more than 5 classes


def test_top5_with_more_than_five_classes():
    classes = list("abcdefg")
    proba = np.tile(np.arange(7, 0, -1, dtype=float), (2, 1))  # ranking a > b > ... > g
    scores = classification_scores(["e", "f"], proba, classes)  # e is 5th (in top 5), f 6th
    assert scores["top5_accuracy"] == pytest.approx(0.5)
    assert scores["accuracy"] == 0.0


def test_per_class_report_has_one_row_per_class_then_averages():
    report = per_class_report(["a", "a", "b"], ["a", "b", "b"], ["a", "b"])
    rows = report.set_index("class")
    assert rows.loc["a", "precision"] == 1.0 and rows.loc["a", "recall"] == 0.5
    assert rows.loc["b", "precision"] == 0.5 and rows.loc["b", "support"] == 1
    assert {"macro avg", "weighted avg"} <= set(report["class"])


def test_leave_one_group_out_folds_never_share_a_group():
    groups = np.array(["p1", "p2", "p1", "p3", "p2", "p3", "p3"])
    folds = list(group_folds(groups))
    assert sorted(name for name, _, _ in folds) == ["p1", "p2", "p3"]
    for name, train, test in folds:
        assert set(groups[test]) == {name}
        assert name not in set(groups[train])
        assert len(train) + len(test) == len(groups)


def test_comparison_table_gives_mean_std_over_folds_and_pooled_counts():
    preds = pd.DataFrame({
        "model": ["m"] * 4, "fold": ["g1", "g1", "g2", "g2"], "label": ["a", "b", "a", "b"],
        "predicted": ["a", "b", "a", "a"], "p_a": [0.9, 0.2, 0.8, 0.6], "p_b": [0.1, 0.8, 0.2, 0.4],
    })  # fmt: skip
    costs = pd.DataFrame({"model": ["m", "m"], "fold": ["g1", "g2"], "train_time_s": [1.0, 3.0],
                          "parameters": [10, 10], "inference_clips_per_s": [100.0, 300.0]})  # fmt: skip
    row = comparison_table(preds, costs, ["a", "b"]).iloc[0]
    assert row["accuracy"] == pytest.approx(0.75) and row["accuracy_std"] == pytest.approx(0.25)
    assert (row["correct"], row["clips"], row["folds"]) == (3, 4, 2)
    assert row["train_time_s"] == pytest.approx(2.0)
