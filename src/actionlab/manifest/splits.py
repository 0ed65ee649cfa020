"""Train/val/test splits: group-aware, label-stratified, and fixed once assigned.

:func:`assign_splits` is the pure assignment (scikit-learn's stratified (group) k-fold cut into
train/val/test by the fractions). :func:`update_split_table` keeps a saved split table as the
source of truth: videos already in it keep their split, new members of a known group join that
group's split, and only wholly new groups are assigned.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
# other spellings accepted in a CSV's split column (compared stripped and lower-cased)
SPLIT_ALIASES = {"validate": "val", "validation": "val", "dev": "val", "training": "train",
                 "testing": "test"}  # fmt: skip
MAX_FOLDS = 20  # finest cut of the data into folds: fractions are met to 1/MAX_FOLDS or better
FRACTION_COLUMNS = tuple(f"fraction_{s}" for s in SPLITS)
SPLIT_TABLE_COLUMNS = ["video_id", "split", "group", "label", "source", "in_manifest", "seed",
                       *FRACTION_COLUMNS]  # fmt: skip
FROM_CSV, ASSIGNED = "csv", "assigned"


def normalize_split(name: object) -> str:
    """The canonical split name (``train``, ``val``, ``test``) or ``""`` for an empty cell.

    Aliases (``validate``, ``validation``, ``dev``, ``training``, ``testing``; any case and
    surrounding whitespace) are mapped; anything else raises ``ValueError`` naming the allowed
    names.
    """
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return ""
    text = str(name).strip().lower()
    if text == "" or text in SPLITS:
        return text
    if text in SPLIT_ALIASES:
        return SPLIT_ALIASES[text]
    raise ValueError(
        f"unknown split {str(name).strip()!r}; use one of {', '.join(SPLITS)} "
        f"(or {', '.join(SPLIT_ALIASES)}), or leave it empty to have it assigned"
    )


def check_fractions(fractions: Mapping[str, float]) -> dict[str, float]:
    """``{train, val, test}: fraction`` with missing splits at 0; raises on bad fractions."""
    unknown = set(fractions) - set(SPLITS)
    if unknown:
        raise ValueError(
            f"ingestion.split.fractions has unknown splits {sorted(unknown)}; use {SPLITS}."
        )
    values = {s: float(fractions.get(s, 0.0)) for s in SPLITS}
    if any(v < 0 for v in values.values()) or not np.isclose(sum(values.values()), 1.0):
        raise ValueError(f"ingestion.split.fractions must be >= 0 and sum to 1, got {values}.")
    return values


def _fold_counts(fractions: dict[str, float], n_groups: int) -> dict[str, int]:
    """How many of the k folds each split takes: k is the smallest number of folds (at most
    ``MAX_FOLDS`` and the number of groups) that cuts the fractions best; each split with a
    positive fraction gets a fold when there are enough folds."""
    positive = [s for s in SPLITS if fractions[s] > 0]

    def error(k: int) -> float:
        return sum(abs(fractions[s] * k - round(fractions[s] * k)) for s in SPLITS) / k

    best = min(range(1, MAX_FOLDS + 1), key=lambda k: (round(error(k), 9), k))
    k = max(1, min(best, n_groups))
    counts = {s: int(np.floor(fractions[s] * k)) for s in SPLITS}
    by_remainder = sorted(SPLITS, key=lambda s: fractions[s] * k - counts[s], reverse=True)
    for s in by_remainder[: k - sum(counts.values())]:
        counts[s] += 1
    if k >= len(positive):
        for s in positive:
            if counts[s] == 0:
                donors = [d for d in SPLITS if counts[d] > (d in positive)]
                donor = max(donors, key=lambda d: counts[d] - fractions[d] * k)
                counts[donor] -= 1
                counts[s] += 1
    return counts


def _folds(labels: np.ndarray, groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold index (0..k-1) of each row from scikit-learn's stratified (group) k-fold."""
    # imported here: probe workers import this package and need no scikit-learn (~1 s each)
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    _, label_counts = np.unique(labels, return_counts=True)
    # stratify only where some label has at least k members (scikit-learn's requirement)
    y = labels if (label_counts >= k).any() else np.zeros(len(labels), dtype=int)
    rows = np.zeros((len(y), 1))
    if len(np.unique(groups)) == len(groups):  # one row per group: plain stratified k-fold
        cuts = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(rows, y)
    else:
        cuts = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(
            rows, y, groups
        )
    fold = np.empty(len(labels), dtype=int)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        for i, (_, test) in enumerate(cuts):
            fold[test] = i
    return fold


def _give_each_split_a_group(
    split: np.ndarray, groups: np.ndarray, fractions: dict[str, float]
) -> np.ndarray:
    """Move the smallest group of the most over-filled split into each empty positive split
    (only when there are at least as many groups as positive splits)."""
    positive = [s for s in SPLITS if fractions[s] > 0]
    if len(np.unique(groups)) < len(positive):
        return split
    split = split.copy()
    for s in positive:
        if (split == s).any():
            continue
        shares = {d: (split == d).mean() - fractions[d] for d in SPLITS}
        donors = [d for d in SPLITS if len(np.unique(groups[split == d])) > 1]
        donor = max(donors, key=lambda d: shares[d])
        names, sizes = np.unique(groups[split == donor], return_counts=True)
        split[groups == names[np.argmin(sizes)]] = s
    return split


def assign_splits(
    labels: pd.Series,
    groups: pd.Series | None = None,
    *,
    fractions: Mapping[str, float],
    seed: int,
) -> pd.Series:
    """Split name for each row, deterministic in (rows, fractions, seed).

    Whole groups go to one split (without ``groups`` each row is its own group) and each split
    holds as close to its fraction of every label as the groups allow: the rows are cut into k
    stratified group folds (scikit-learn ``StratifiedGroupKFold``, ``StratifiedKFold`` when every
    group has one row) and each split takes its fraction of the folds. Each split with a
    positive fraction gets at least one group when there are enough groups.
    """
    fr = check_fractions(fractions)
    out = pd.Series("", index=labels.index, dtype=object)
    if len(labels) == 0:
        return out
    label_values = labels.fillna("").astype(str).to_numpy()
    if groups is None:
        group_values = np.arange(len(labels)).astype(str)
    else:
        group_values = groups.fillna("").astype(str).to_numpy()
        empty = np.flatnonzero(group_values == "")
        if len(empty):
            raise ValueError(
                f"assign_splits: groups are empty at rows {labels.index[empty][:10].tolist()}; "
                "give every row a group or pass groups=None."
            )
    counts = _fold_counts(fr, len(np.unique(group_values)))
    fold_split = np.array([s for s in SPLITS for _ in range(counts[s])])
    if len(fold_split) == 1:
        split = np.full(len(labels), fold_split[0], dtype=object)
    else:
        split = fold_split[_folds(label_values, group_values, len(fold_split), seed)]
        split = _give_each_split_a_group(split.astype(object), group_values, fr)
    out[:] = split
    return out


def _read_table(previous: pd.DataFrame | None) -> pd.DataFrame:
    """The saved split table with its types restored (a CSV loads every column as text)."""
    if previous is None or len(previous) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SPLIT_TABLE_COLUMNS})
    missing = [c for c in ("video_id", "split", "group", "seed", *FRACTION_COLUMNS)
               if c not in previous]  # fmt: skip
    if missing:
        raise ValueError(
            f"The saved split table (data/02_intermediate/splits.csv) lacks columns {missing}; "
            "delete the file to have every video assigned again."
        )
    table = previous.copy()
    for column in ("video_id", "split", "group", "label", "source"):
        if column not in table:
            table[column] = ASSIGNED if column == "source" else ""
        table[column] = table[column].fillna("").astype(str)
    try:
        table["split"] = table["split"].map(normalize_split)
    except ValueError as err:
        raise ValueError(
            f"The saved split table (data/02_intermediate/splits.csv) has an {err}; fix the "
            "cell or delete the file to have every video assigned again."
        ) from err
    return table[table["split"] != ""]


def _made_with(table: pd.DataFrame) -> tuple[int, dict[str, float]] | None:
    """The (seed, fractions) the saved table was made with, or None when unreadable."""
    try:
        seed = int(float(table["seed"].iloc[0]))
        fractions = {s: float(table[f"fraction_{s}"].iloc[0]) for s in SPLITS}
    except (TypeError, ValueError):
        return None
    return seed, fractions


def _text(table: pd.DataFrame, column: str) -> np.ndarray:
    """A column as text with empty cells as ``""`` (all ``""`` when the column is absent)."""
    values = table[column] if column in table else pd.Series("", index=table.index)
    return values.fillna("").astype(str).to_numpy()


def _majority(splits: pd.Series) -> str:
    counts = splits.value_counts()
    return min(counts.index, key=lambda s: (-counts[s], SPLITS.index(s)))


def _batch_fractions(
    fr: dict[str, float], assigned: pd.Series, n_new: int
) -> dict[str, float]:
    """Fractions for a batch of new rows that bring the assigned rows closest to ``fr``."""
    total = len(assigned) + n_new
    deficit = {s: max(fr[s] * total - (assigned == s).sum(), 0.0) if fr[s] > 0 else 0.0
               for s in SPLITS}  # fmt: skip
    if sum(deficit.values()) <= 0:
        return fr
    return {s: deficit[s] / sum(deficit.values()) for s in SPLITS}


def update_split_table(
    videos: pd.DataFrame,
    previous: pd.DataFrame | None,
    *,
    fractions: Mapping[str, float],
    seed: int,
) -> pd.DataFrame:
    """The new split table for ``videos`` (``video_id``, ``label``, ``group``, ``split``) given
    the saved table ``previous`` (None or empty on the first run).

    - a ``split`` given in ``videos`` (from the source CSV) wins;
    - a video already in ``previous`` keeps its split;
    - a new video whose group (non-empty ``group``) already has a split joins it;
    - wholly new groups (a video without a group is its own group) are assigned with
      :func:`assign_splits`, with fractions that bring the assigned videos closest to
      ``fractions`` (on the first run: ``fractions`` themselves).

    When ``previous`` was made with another seed or other fractions, every video is assigned
    again (with a warning). Videos of ``previous`` that are not in ``videos`` stay in the table
    (``in_manifest`` False) so they keep their split if they come back. Returns one row per
    video with ``SPLIT_TABLE_COLUMNS``.
    """
    fr = check_fractions(fractions)
    old = _read_table(previous)
    if len(old):
        made = _made_with(old)
        same = made is not None and made[0] == int(seed) and all(
            np.isclose(made[1][s], fr[s]) for s in SPLITS
        )
        if not same:
            logger.warning(
                "ingestion.split.seed/fractions changed since the saved split table was written "
                "(%s -> seed %s, fractions %s): every video is assigned a split again.",
                "unreadable" if made is None else f"seed {made[0]}, fractions {made[1]}",
                seed, fr,
            )  # fmt: skip
            old = old.iloc[0:0]
    table = pd.DataFrame({c: _text(videos, c) for c in ("video_id", "split", "group", "label")})
    table = table.drop_duplicates("video_id").reset_index(drop=True)
    table["split"] = table["split"].map(normalize_split)
    table["source"] = np.where(table["split"] != "", FROM_CSV, "")
    known = old.drop_duplicates("video_id").set_index("video_id")
    kept = (table["split"] == "") & table["video_id"].isin(known.index)
    table.loc[kept, "split"] = known.loc[table.loc[kept, "video_id"], "split"].to_numpy()
    table.loc[kept, "source"] = known.loc[table.loc[kept, "video_id"], "source"].to_numpy()
    # a new member of a group that already has a split joins it (departed videos count too)
    departed = old[~old["video_id"].isin(table["video_id"])]
    placed = pd.concat([table[table["split"] != ""], departed])
    placed = placed[placed["group"] != ""]
    group_split = placed.groupby("group")["split"].agg(_majority)
    join = (table["split"] == "") & table["group"].isin(group_split.index)
    table.loc[join, "split"] = table.loc[join, "group"].map(group_split)
    table.loc[join, "source"] = ASSIGNED
    new = table["split"] == ""
    if new.any():
        batch = _batch_fractions(fr, table.loc[table["source"] == ASSIGNED, "split"], new.sum())
        own = "video:" + table.loc[new, "video_id"]  # a video without a group is its own
        groups = table.loc[new, "group"].where(table.loc[new, "group"] != "", own)
        table.loc[new, "split"] = assign_splits(
            table.loc[new, "label"], groups, fractions=batch, seed=seed
        )
        table.loc[new, "source"] = ASSIGNED
    grouped = table[table["group"] != ""]
    crossing = grouped.groupby("group")["split"].nunique()
    crossing = sorted(crossing[crossing > 1].index)
    if crossing:
        logger.warning(
            "Groups %s have videos in more than one split (given so by the source CSV, or the "
            "grouping changed since the saved split table was written); delete "
            "data/02_intermediate/splits.csv to have every video assigned again.",
            crossing[:10],
        )
    table["in_manifest"] = True
    departed = departed.assign(in_manifest=False)
    table = pd.concat([table, departed[table.columns.intersection(departed.columns)]])
    for column in ("video_id", "split", "group", "label", "source"):
        table[column] = table[column].astype(str)
    table["in_manifest"] = table["in_manifest"].astype(bool)
    table["seed"] = int(seed)
    for s in SPLITS:
        table[f"fraction_{s}"] = fr[s]
    return table[SPLIT_TABLE_COLUMNS].reset_index(drop=True)
