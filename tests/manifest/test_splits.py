import numpy as np
import pandas as pd
import pytest

from actionlab.manifest import assign_splits

FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


def test_stratified_split_keeps_label_proportions_and_is_deterministic():
    labels = pd.Series(["a"] * 10 + ["b"] * 10 + ["c"] * 5)
    first = assign_splits(labels, None, fractions=FRACTIONS, seed=1)
    again = assign_splits(labels, None, fractions=FRACTIONS, seed=1)
    other = assign_splits(labels, None, fractions=FRACTIONS, seed=2)
    assert first.equals(again)
    assert not first.equals(other)
    counts = pd.crosstab(labels, first)
    assert counts.loc["a"].to_dict() == {"test": 2, "train": 6, "val": 2}
    assert counts.loc["c"].to_dict() == {"test": 1, "train": 3, "val": 1}


def test_group_aware_split_never_lets_a_group_cross_splits():
    rng = np.random.default_rng(0)
    groups = pd.Series([f"person{i % 5}" for i in range(40)])
    labels = pd.Series(rng.choice(["wave", "clap"], size=40))
    splits = assign_splits(labels, groups, fractions=FRACTIONS, seed=3)
    assert (splits.groupby(groups).nunique() == 1).all()
    assert set(splits) == {"train", "val", "test"}
    assert (splits == "train").sum() >= (splits == "val").sum()


def test_three_people_give_one_person_per_split():
    groups = pd.Series(["P1", "P2", "P3"] * 9)
    labels = pd.Series(["x", "y", "z"] * 9)
    splits = assign_splits(labels, groups, fractions=FRACTIONS, seed=0)
    assert sorted(splits.value_counts().to_list()) == [9, 9, 9]


@pytest.mark.parametrize("fractions", [{"train": 0.5, "val": 0.2}, {"train": 1.2, "test": -0.2}, {"dev": 1.0}])
def test_bad_fractions_name_the_parameter(fractions):
    with pytest.raises(ValueError, match="ingestion.split.fractions"):
        assign_splits(pd.Series(["a", "b"]), None, fractions=fractions, seed=0)
