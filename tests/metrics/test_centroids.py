"""Centroid analysis on hand-made 2-D points with exact answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from actionlab.metrics.centroids import centroid_analysis


def test_two_separated_classes() -> None:
    a = [(1, 0), (-1, 0), (0, 1), (0, -1)]  # centroid (0, 0), radius 1
    b = [(10, 0), (12, 0), (11, 1), (11, -1)]  # centroid (11, 0), radius 1
    X = np.array(a + b, dtype=float)
    labels = ["A"] * 4 + ["B"] * 4
    distances, summary = centroid_analysis(X, labels)

    assert len(distances) == 8 * 2
    assert list(distances.columns) == ["sample", "label", "centroid_label", "distance"]
    row = distances[(distances["sample"] == 4) & (distances["centroid_label"] == "A")]
    assert row["distance"].item() == pytest.approx(10.0)
    assert row["label"].item() == "B"

    s = summary.set_index("label")
    assert s.loc["A", "n"] == 4
    assert s.loc["A", "radius_same"] == pytest.approx(1.0)
    assert s.loc["A", "nearest_other"] == pytest.approx(10.0)
    assert s.loc["A", "nearest_other_label"] == "B"
    assert s.loc["B", "radius_same"] == pytest.approx(1.0)
    assert s.loc["B", "nearest_other"] == pytest.approx(10.0)  # (1, 0) to (11, 0)
    assert s.loc["A", "inside_radius__A"] == 4 and s.loc["A", "inside_radius__B"] == 0
    assert s.loc["B", "inside_radius__B"] == 4 and s.loc["B", "inside_radius__A"] == 0
    assert s["separated"].all()


def inside(summary, label: str) -> list[int]:
    """Counts of A, B, C points inside ``label``'s radius."""
    return summary.loc[label, ["inside_radius__A", "inside_radius__B", "inside_radius__C"]].tolist()


def test_overlap_and_boundary_counts_inside() -> None:
    X = np.array([(-2, 0), (2, 0), (1, 0), (5, 0), (0, 2)], dtype=float)
    labels = ["A", "A", "B", "B", "C"]
    # A: centroid (0,0) radius 2; B: centroid (3,0) radius 2; C: centroid (0,2) radius 0
    distances, summary = centroid_analysis(X, labels)
    s = summary.set_index("label")
    assert list(s.index) == ["A", "B", "C"]

    assert s.loc["A", "radius_same"] == pytest.approx(2.0)
    assert s.loc["A", "nearest_other"] == pytest.approx(1.0)
    assert s.loc["A", "nearest_other_label"] == "B"
    assert inside(s, "A") == [2, 1, 1]
    assert not s.loc["A", "separated"]

    assert s.loc["B", "radius_same"] == pytest.approx(2.0)
    assert s.loc["B", "nearest_other"] == pytest.approx(1.0)
    assert s.loc["B", "nearest_other_label"] == "A"
    assert inside(s, "B") == [1, 2, 0]
    assert not s.loc["B", "separated"]

    assert s.loc["C", "radius_same"] == 0.0
    assert s.loc["C", "nearest_other"] == pytest.approx(math.sqrt(5))
    assert s.loc["C", "nearest_other_label"] == "B"
    assert inside(s, "C") == [0, 0, 1]
    assert s.loc["C", "separated"]

    d = distances.set_index(["sample", "centroid_label"])["distance"]
    assert d[(4, "A")] == pytest.approx(2.0)
    assert d[(3, "B")] == pytest.approx(2.0)
    assert d[(0, "C")] == pytest.approx(math.sqrt(8))


def test_missing_labels_skipped_and_positions_kept() -> None:
    X = np.array([(0, 0), (9, 9), (2, 0), (10, 0), (12, 0)], dtype=float)
    distances, summary = centroid_analysis(X, ["A", None, "A", "B", "B"])
    assert sorted(distances["sample"].unique().tolist()) == [0, 2, 3, 4]
    assert summary["n"].tolist() == [2, 2]


def test_single_class() -> None:
    _, summary = centroid_analysis(np.array([[0.0, 0.0], [2.0, 0.0]]), ["A", "A"])
    row = summary.iloc[0]
    assert row["radius_same"] == pytest.approx(1.0)
    assert math.isnan(row["nearest_other"]) and row["nearest_other_label"] is None
    assert bool(row["separated"])


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="len\\(labels\\)"):
        centroid_analysis(np.zeros((3, 2)), ["A", "B"])
    with pytest.raises(ValueError, match="labelled"):
        centroid_analysis(np.zeros((2, 2)), [None, ""])
