"""Scores of the two clusterings (k from labels, label-free) on all clips and on the unseen ones.

The unseen clips are those whose ``split`` is not in ``ssl_training.splits``: the SSL encoder
never trained on them. They are scored with the clustering fitted on all clips, restricted to
them, never refitted. Names follow one scheme everywhere (table rows, MLflow keys, info keys):
``<score>`` for the reference clustering on all clips, ``_labelfree`` appended for the label-free
clustering, then ``_unseen`` for the unseen clips, e.g. ``nmi_labelfree_unseen``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from actionlab.metrics.clustering import COUNT_SCORES, QUALITY_SCORES, subset_scores

K_CHOICES = {"labels": "", "labelfree": "_labelfree"}  # k_choice -> key suffix
CLIP_SUBSETS = {"all": "", "unseen": "_unseen"}  # clips -> key suffix
TABLE_COLUMNS = ["k_choice", "clips", "k", "k_source", *COUNT_SCORES, *QUALITY_SCORES, "note"]


class Clustering(NamedTuple):
    """One clustering of every clip: its assignments, its k and how k was set."""

    assignments: np.ndarray
    k: int
    k_source: str


def unseen_mask(splits: Sequence[Any], ssl_splits: Sequence[str]) -> np.ndarray:
    """True for each clip whose split is not one the SSL encoder trained on (missing counts as not)."""
    return ~pd.Series(list(splits), dtype=object).isin([str(s) for s in ssl_splits]).to_numpy()


def metric_key(score: str, k_choice: str = "labels", clips: str = "all") -> str:
    """``<score>[_labelfree][_unseen]``, e.g. ``nmi_labelfree_unseen``: one key per measure, so
    runs with different algorithms compare on one chart (the algorithm is a run parameter)."""
    return f"{score}{K_CHOICES[k_choice]}{CLIP_SUBSETS[clips]}"


def score_table(
    X: np.ndarray,
    clusterings: dict[str, Clustering],
    labels: Sequence[Any] | None,
    unseen: np.ndarray,
) -> pd.DataFrame:
    """One row per (k_choice, clips) with the counts, the scores (NaN when not computable) and a
    ``note`` saying why a subset was too small to score (else None)."""
    unknown = set(clusterings) - set(K_CHOICES)
    if unknown:
        raise ValueError(f"Unknown k_choice {sorted(unknown)}; expected {list(K_CHOICES)}.")
    subsets = {"all": np.ones(len(unseen), dtype=bool), "unseen": np.asarray(unseen, dtype=bool)}
    rows = []
    for k_choice, run in clusterings.items():
        for clips, keep in subsets.items():
            scores, note = subset_scores(X, run.assignments, labels, keep=keep, k=run.k)
            rows.append(
                {"k_choice": k_choice, "clips": clips, "k": run.k, "k_source": run.k_source,
                 **scores, "note": note}
            )  # fmt: skip
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


PER_K_CHOICE = ("k",)  # the same for both clip subsets: logged for clips=all only
PER_SUBSET = ("n_clips", "n_labelled")  # the same for both k choices: logged for k_choice=labels


def table_metrics(table: pd.DataFrame) -> dict[str, float]:
    """Every finite number of :func:`score_table` under its :func:`metric_key`, each once: ``k``
    without ``_unseen``, ``n_clips`` and ``n_labelled`` without ``_labelfree``."""
    out: dict[str, float] = {}
    for row in table.to_dict("records"):
        for score in ("k", *COUNT_SCORES, *QUALITY_SCORES):
            if (score in PER_K_CHOICE and row["clips"] != "all") or (
                score in PER_SUBSET and row["k_choice"] != "labels"
            ):
                continue
            value = float(row[score])
            if math.isfinite(value):
                out[metric_key(score, row["k_choice"], row["clips"])] = value
    return out


def _plain(column: str, value: Any) -> Any:
    """JSON-friendly: NaN -> None, counts and k -> int, numpy scalars -> Python."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if column in ("k", *COUNT_SCORES) else value
    return value


def scores_report(
    table: pd.DataFrame, *, algorithm: str, ssl_splits: Sequence[str]
) -> dict[str, Any]:
    """A JSON-ready report: the headline row (``k_choice=labels``, ``clips=all``: the numbers of
    the unsuffixed MLflow keys) at the top level, then every row of ``table`` under ``table``;
    NaN becomes null, counts and k are ints."""
    rows = [{c: _plain(c, v) for c, v in row.items()} for row in table.to_dict("records")]
    head = next(r for r in rows if r["k_choice"] == "labels" and r["clips"] == "all")
    return {
        "algorithm": algorithm,
        "unseen": f"clips whose split is not in ssl_training.splits = {list(ssl_splits)}",
        **{c: v for c, v in head.items() if c != "note"},
        "table": rows,
    }
