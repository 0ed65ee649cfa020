import logging

import numpy as np
import pandas as pd
import pytest

from actionlab.manifest import (
    SPLIT_TABLE_COLUMNS,
    assign_splits,
    normalize_split,
    update_split_table,
)

FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


def _videos(n: int, n_groups: int, seed: int = 0, prefix: str = "v") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "video_id": [f"{prefix}{i:04d}" for i in range(n)],
            "label": rng.choice(["wave", "clap", "jump", "squat"], size=n),
            "group": [f"person{g}" for g in rng.integers(0, n_groups, size=n)],
            "split": "",
        }
    )


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


def test_split_does_not_depend_on_row_order():
    videos = _videos(200, 30)
    first = assign_splits(videos["label"], videos["group"], fractions=FRACTIONS, seed=4)
    shuffled = videos.sample(frac=1.0, random_state=0)
    again = assign_splits(shuffled["label"], shuffled["group"], fractions=FRACTIONS, seed=4)
    assert again.sort_index().equals(first)


def test_group_aware_split_is_stratified_with_many_groups():
    videos = _videos(1200, 120, seed=1)
    splits = assign_splits(videos["label"], videos["group"], fractions=FRACTIONS, seed=3)
    assert (splits.groupby(videos["group"]).nunique() == 1).all()
    share = pd.crosstab(videos["label"], splits, normalize="index")
    for name, fraction in FRACTIONS.items():
        assert np.allclose(share[name], fraction, atol=0.04), share


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


@pytest.mark.parametrize("n", [1, 2])
def test_too_few_groups_fill_the_largest_splits_first(n):
    splits = assign_splits(pd.Series(["a"] * n), pd.Series([f"g{i}" for i in range(n)]),
                           fractions=FRACTIONS, seed=0)  # fmt: skip
    assert sorted(set(splits)) == sorted(["train", "val"][:n])


def test_each_positive_split_gets_a_group_with_skewed_fractions():
    fractions = {"train": 0.9, "val": 0.05, "test": 0.05}
    groups = pd.Series(["A"] * 10 + ["B"] * 2 + ["C"] * 1 + ["D"] * 1)
    splits = assign_splits(pd.Series(["x"] * 14), groups, fractions=fractions, seed=0)
    assert set(splits) == {"train", "val", "test"}
    assert (splits.groupby(groups).nunique() == 1).all()


def test_empty_groups_are_refused():
    with pytest.raises(ValueError, match="groups are empty"):
        assign_splits(pd.Series(["a", "b"]), pd.Series(["P1", ""]), fractions=FRACTIONS, seed=0)


@pytest.mark.parametrize("fractions", [{"train": 0.5, "val": 0.2}, {"train": 1.2, "test": -0.2}, {"dev": 1.0}])
def test_bad_fractions_name_the_parameter(fractions):
    with pytest.raises(ValueError, match="ingestion.split.fractions"):
        assign_splits(pd.Series(["a", "b"]), None, fractions=fractions, seed=0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("train", "train"), (" Validate ", "val"), ("VALIDATION", "val"), ("dev", "val"),
     ("Training", "train"), ("testing ", "test"), ("", ""), (None, ""), (float("nan"), "")],
)  # fmt: skip
def test_split_aliases_map_to_the_canonical_names(name, expected):
    assert normalize_split(name) == expected


def test_unknown_split_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown split 'holdout'; use one of train, val, test"):
        normalize_split("holdout")


def _round_trip(table: pd.DataFrame, tmp_path) -> pd.DataFrame:
    """What the next run loads: the table written to CSV and read back as text."""
    path = tmp_path / "splits.csv"
    table.to_csv(path, index=False)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_adding_videos_never_moves_an_existing_one(tmp_path):
    first_videos = _videos(120, 20, seed=0)
    first = update_split_table(first_videos, None, fractions=FRACTIONS, seed=7)
    assert list(first.columns) == SPLIT_TABLE_COLUMNS
    assert (first["seed"] == 7).all() and (first["fraction_train"] == 0.6).all()
    assert first["split"].value_counts(normalize=True)["train"] == pytest.approx(0.6, abs=0.1)
    # on its own, the same rows in one go would be split differently: the table keeps the old one
    old_group = first_videos["group"].iloc[0]
    added = pd.DataFrame(
        {
            "video_id": ["new-old-group", "new-group-a", "new-group-b", "new-solo"],
            "label": ["wave", "clap", "clap", "jump"],
            "group": [old_group, "newcomer", "newcomer", ""],
            "split": "",
        }
    )
    second_videos = pd.concat([added, first_videos.sample(frac=1.0, random_state=1)])
    second = update_split_table(second_videos, _round_trip(first, tmp_path), fractions=FRACTIONS, seed=7)
    split_of = second.set_index("video_id")["split"]
    before = first.set_index("video_id")["split"]
    assert split_of[before.index].equals(before)
    assert split_of["new-old-group"] == before[first_videos["video_id"].iloc[0]]
    assert split_of["new-group-a"] == split_of["new-group-b"] in {"train", "val", "test"}
    assert split_of["new-solo"] in {"train", "val", "test"}
    assert (second.groupby("group")["split"].nunique() == 1).all()
    assert second["in_manifest"].all() and len(second) == 124


def test_new_groups_fill_the_split_that_is_short(tmp_path):
    # the table has only train videos: every new group must go to val or test
    videos = _videos(30, 6, seed=2)
    table = update_split_table(videos, None, fractions={"train": 1.0}, seed=0)
    table["fraction_train"], table["fraction_val"], table["fraction_test"] = 0.6, 0.2, 0.2
    added = _videos(20, 4, seed=3, prefix="n").assign(group=lambda t: "new-" + t["group"])
    second = update_split_table(pd.concat([videos, added]), _round_trip(table, tmp_path),
                                fractions=FRACTIONS, seed=0)  # fmt: skip
    new_splits = second.set_index("video_id").loc[added["video_id"], "split"]
    assert set(new_splits) == {"val", "test"}


def test_a_video_that_leaves_and_comes_back_keeps_its_split(tmp_path):
    videos = _videos(40, 40, seed=4).assign(group="")
    first = update_split_table(videos, None, fractions=FRACTIONS, seed=1)
    without = update_split_table(videos.iloc[5:], _round_trip(first, tmp_path), fractions=FRACTIONS, seed=1)
    assert (~without.set_index("video_id").loc[videos["video_id"][:5], "in_manifest"]).all()
    back = update_split_table(videos, _round_trip(without, tmp_path), fractions=FRACTIONS, seed=1)
    assert back.set_index("video_id")["split"].equals(first.set_index("video_id")["split"])


def test_changed_seed_or_fractions_reassigns_everything_with_a_warning(tmp_path, caplog):
    videos = _videos(200, 40, seed=5)
    first = _round_trip(update_split_table(videos, None, fractions=FRACTIONS, seed=1), tmp_path)
    with caplog.at_level(logging.WARNING, logger="actionlab.manifest.splits"):
        same = update_split_table(videos, first, fractions=FRACTIONS, seed=1)
    assert not caplog.records
    fresh = update_split_table(videos, None, fractions=FRACTIONS, seed=2)
    with caplog.at_level(logging.WARNING, logger="actionlab.manifest.splits"):
        reseeded = update_split_table(videos, first, fractions=FRACTIONS, seed=2)
    assert "changed" in caplog.text and "assigned a split again" in caplog.text
    assert reseeded["split"].equals(fresh["split"]) and not reseeded["split"].equals(same["split"])
    other = {"train": 0.8, "val": 0.1, "test": 0.1}
    refractioned = update_split_table(videos, first, fractions=other, seed=1)
    assert refractioned["split"].equals(update_split_table(videos, None, fractions=other, seed=1)["split"])


def test_a_split_from_the_csv_wins_and_pulls_its_group(tmp_path):
    videos = _videos(60, 12, seed=6)
    first = update_split_table(videos, None, fractions=FRACTIONS, seed=0)
    moved = videos["video_id"].iloc[0]
    videos.loc[0, "split"] = " Validation "
    added = pd.DataFrame({"video_id": ["x1", "x2"], "label": ["wave", "clap"], "group": ["csvgroup"] * 2,
                          "split": ["testing", ""]})  # fmt: skip
    second = update_split_table(pd.concat([videos, added]), _round_trip(first, tmp_path),
                                fractions=FRACTIONS, seed=0)  # fmt: skip
    split_of = second.set_index("video_id")
    assert split_of.loc[moved, "split"] == "val" and split_of.loc[moved, "source"] == "csv"
    assert split_of.loc["x1", "split"] == split_of.loc["x2", "split"] == "test"


def test_a_damaged_table_names_the_file_and_the_fix():
    with pytest.raises(ValueError, match="splits.csv.*delete the file"):
        update_split_table(_videos(3, 3), pd.DataFrame({"video_id": ["v0000"]}), fractions=FRACTIONS, seed=0)
