"""Reproducible train/val/test splits: stratified by label, group-aware when groups exist."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")


def _check_fractions(fractions: Mapping[str, float]) -> dict[str, float]:
    unknown = set(fractions) - set(SPLITS)
    if unknown:
        raise ValueError(f"ingestion.split.fractions has unknown splits {sorted(unknown)}; use {SPLITS}.")
    values = {s: float(fractions.get(s, 0.0)) for s in SPLITS}
    if any(v < 0 for v in values.values()) or not np.isclose(sum(values.values()), 1.0):
        raise ValueError(f"ingestion.split.fractions must be >= 0 and sum to 1, got {values}.")
    return values


def _allocate(n: int, fractions: dict[str, float]) -> list[str]:
    """Largest-remainder allocation of n items to splits, train first."""
    raw = {s: fractions[s] * n for s in SPLITS}
    counts = {s: int(np.floor(raw[s])) for s in SPLITS}
    for s in sorted(SPLITS, key=lambda s: raw[s] - counts[s], reverse=True)[: n - sum(counts.values())]:
        counts[s] += 1
    return [s for s in SPLITS for _ in range(counts[s])]


def assign_splits(
    labels: pd.Series,
    groups: pd.Series | None,
    *,
    fractions: Mapping[str, float],
    seed: int,
) -> pd.Series:
    """Split names for each row, deterministic in (rows, fractions, seed).

    Without groups, each label's rows are shuffled and cut by ``fractions`` (stratified). With
    groups (e.g. person), whole groups are assigned: groups are shuffled and dealt so that each
    split's share of rows comes as close as possible to its fraction; no group crosses splits.
    """
    fr = _check_fractions(fractions)
    rng = np.random.default_rng(seed)
    out = pd.Series("", index=labels.index, dtype=object)
    has_groups = groups is not None and (groups.astype(str) != "").all()
    if not has_groups:
        for _, members in sorted(labels.groupby(labels).groups.items()):
            idx = np.array(sorted(members))
            order = idx[rng.permutation(len(idx))]
            out.loc[order] = _allocate(len(order), fr)
        return out
    group_sizes = groups.astype(str).value_counts().sort_index()
    names = list(group_sizes.index[rng.permutation(len(group_sizes))])
    total = len(labels)
    assigned = {s: 0 for s in SPLITS}
    targets = {s: fr[s] * total for s in SPLITS}
    group_split: dict[str, str] = {}
    # guarantee each split with a positive fraction gets a group when there are enough groups
    wanted = [s for s in SPLITS if fr[s] > 0]
    for s, g in zip(wanted, names, strict=False):
        group_split[g] = s
        assigned[s] += group_sizes[g]
    for g in names[len(wanted) :]:
        s = max(SPLITS, key=lambda s: (targets[s] - assigned[s]) / max(targets[s], 1e-9))
        group_split[g] = s
        assigned[s] += group_sizes[g]
    return groups.astype(str).map(group_split)
