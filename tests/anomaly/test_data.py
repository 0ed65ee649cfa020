"""Which clips a target trains, validates and is tested on."""

from __future__ import annotations

import numpy as np
import pytest

from actionlab.anomaly.data import incorrect_mask, target_sets


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
