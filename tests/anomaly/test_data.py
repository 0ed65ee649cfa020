"""Which clips a target trains, validates and is tested on."""

from __future__ import annotations

import numpy as np
import pytest

from actionlab.anomaly.data import (
    NEAREST,
    competitive_label,
    incorrect_mask,
    target_sets,
    threshold_clips,
)


def test_incorrect_mask() -> None:
    variants = ["correct", "incorrect", None, "", "half_squat", " Correct ", np.nan]
    assert incorrect_mask(variants).tolist() == [False, True, False, False, True, False, False]
    assert incorrect_mask(None, 3).tolist() == [False, False, False]
    with pytest.raises(ValueError, match="give n"):
        incorrect_mask(None)


def test_target_sets() -> None:
    labels = ["squat", "squat", "squat", "squat", "squat", "jump", "jump"]
    splits = ["train", "train", "val", "test", "train", "train", "val"]
    incorrect = np.array([False, False, False, False, True, False, False])
    sets = target_sets(labels, splits, incorrect, "squat")
    assert sets.train.tolist() == [0, 1]
    assert sets.val.tolist() == [2]
    # the rest: squat's correct test clip, its incorrect train clip, every jump clip
    assert sets.test.tolist() == [3, 4, 5, 6]


def _toy() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Target ``a`` (scores near 0); ``b`` overlaps it on validation, ``c`` is far; test clips of
    ``c`` overlap ``a`` but must not choose the competitive class."""
    labels = np.array(["a"] * 4 + ["b"] * 3 + ["c"] * 3 + ["c"] * 3)
    splits = np.array(["train", "train", "val", "val", "val", "val", "test", "val", "val", "train", "test", "test", "test"])
    scores = np.array([0.1, 0.2, 0.3, 0.5, 0.4, 0.35, 9.0, 5.0, 6.0, 7.0, 0.1, 0.2, 0.3])
    return scores, labels, splits


def test_competitive_label_nearest_uses_validation_clips_only() -> None:
    scores, labels, splits = _toy()
    sets = target_sets(labels, splits, np.zeros(len(labels), bool), "a")
    assert competitive_label(scores, labels, splits, sets, target="a", competitive=NEAREST) == "b"
    # without validation clips of the others, their train clips decide
    no_val = np.where(np.isin(np.arange(len(labels)), [4, 5, 7, 8]), "train", splits)
    assert competitive_label(scores, labels, no_val, sets, target="a", competitive=NEAREST) == "b"
    assert competitive_label(scores, labels, splits, sets, target="a", competitive="c") == "c"
    assert competitive_label(scores, labels, splits, sets, target="a", competitive="a") is None
    assert competitive_label(scores, labels, splits, sets, target="a", competitive=None) is None
    with pytest.raises(ValueError, match="'z' is not a label"):
        competitive_label(scores, labels, splits, sets, target="a", competitive="z")


def test_threshold_clips_prefer_validation() -> None:
    _, labels, splits = _toy()
    assert threshold_clips(labels, splits, "c").tolist() == [7, 8]
    assert threshold_clips(labels, np.where(splits == "val", "test", splits), "c").tolist() == [9]
