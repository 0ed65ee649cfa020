"""Anomaly figures: score distributions, ROC curves, score timeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Rectangle

from actionlab.metrics.anomaly import anomaly_table
from actionlab.plots.anomaly import (
    roc_figure,
    score_distribution_figure,
    score_groups,
    score_timeline_figure,
)


def _scores() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = [
        pd.DataFrame({"label": "squat", "incorrect": False, "score": rng.uniform(0.1, 1.0, 12)}),
        pd.DataFrame({"label": "squat", "incorrect": True, "score": rng.uniform(0.8, 2.0, 4)}),
        pd.DataFrame({"label": "jump", "incorrect": False, "score": rng.uniform(0.5, 3.0, 8)}),
        pd.DataFrame({"label": "wave", "incorrect": False, "score": rng.uniform(2.0, 9.0, 8)}),
    ]
    return pd.concat(parts, ignore_index=True)


def test_score_groups() -> None:
    groups = score_groups(_scores(), "squat")
    assert list(groups) == ["squat (correct)", "squat (incorrect)", "jump", "wave"]
    assert [len(v) for v in groups.values()] == [12, 4, 8, 8]


def test_distribution_figure_linear_and_log(tmp_path: Path) -> None:
    fig = score_distribution_figure(_scores(), "squat", threshold=1.2)
    linear, log = fig.axes[:2]
    assert linear.get_xscale() == "linear" and log.get_xscale() == "log"
    assert [t.get_text() for t in linear.get_yticklabels()] == ["squat (correct)", "squat (incorrect)", "jump", "wave"]
    for ax in (linear, log):  # the threshold line
        assert any(np.allclose(line.get_xdata(), 1.2) for line in ax.get_lines())
    fig.savefig(tmp_path / "dist.png")
    assert (tmp_path / "dist.png").stat().st_size > 0


def test_distribution_figure_symlog_for_non_positive_scores() -> None:
    scores = _scores().assign(score=lambda d: d["score"] - 1.0)
    assert score_distribution_figure(scores, "squat").axes[1].get_xscale() == "symlog"


def test_roc_figure_labels_carry_the_table_auc(tmp_path: Path) -> None:
    scores = _scores()
    fig = roc_figure(scores, "squat")
    labels = [line.get_label() for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")]
    table = anomaly_table(scores, "squat", np.inf).set_index("comparison")
    assert labels == [f"{c} (AUC {table.loc[c, 'roc_auc']:.3f})" for c in ["jump", "wave", "all_others", "incorrect"]]
    assert "wave (AUC 1.000)" in labels
    fig.savefig(tmp_path / "roc.png")


def test_score_timeline_shades_the_stretches_above_the_threshold(tmp_path: Path) -> None:
    times = np.arange(12) * 0.5
    scores = np.array([0, 0, 3, 3, 0, 0, 0, 4, 0, 0, 0, 0], float)
    fig = score_timeline_figure(times, scores, 2.0, title="clip")
    spans = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert len(spans) == 2
    extents = sorted((p.get_x(), p.get_x() + p.get_width()) for p in spans)
    # each stretch widened by half a step (0.25 s) on both sides
    assert extents[0] == pytest.approx((0.75, 1.75)) and extents[1] == pytest.approx((3.25, 3.75))
    fig.savefig(tmp_path / "timeline.png")
