"""Anomaly quality over seeds: ROC-AUC of every one-class scorer, per target action, on the built-in
videos or ud810.

Runs the real pipelines with `kedro run` in a scratch copy of the project (conf/, pyproject.toml;
its own data/ and mlflow.db), once per seed (and per fold for ud810), and prints markdown tables
(tabulate): per model and target the mean ROC-AUC over the seeds with its range.

* ``--data builtin``: the built-in videos (``ingestion.synthetic`` counts from conf/base unless
  ``--clips`` / ``--incorrect`` / ``--actors`` are given), ``anomaly.target: all``. Per target: the
  ROC-AUC of the target's correct test clips against its own incorrect clips and against every
  clip of the other actions, read from ``data/08_reporting/anomaly_report.csv``.
* ``--data ud810``: ../shared/data/real/ud810_actions/labels.csv (or ``--ud810 PATH``),
  leave-one-person-out: per held-out person a copy of labels.csv whose ``split`` column puts
  that person's clips in ``test`` and the others' in ``train`` (a split given by the CSV wins
  over the assigned one), so each target's scorer is fitted on the other persons' clips of the
  target. The ROC-AUC is measured on the held-out person's clips only (target against the other
  two actions, from ``data/07_model_output/anomaly_scores.parquet``); the table gives its mean
  over the folds, per target and over targets.

    python benchmarks/anomaly.py --data builtin --seeds 0 1 2
    python benchmarks/anomaly.py --data ud810 --seeds 0 1 2
    python benchmarks/anomaly.py --data builtin --clips 30 --incorrect 10 --actors 8

Only the autoencoder and the IsolationForest depend on the seed (``anomaly.seed``); the built-in
videos, the split and the weight-free ``motion`` embedding are the same for every seed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "src")]  # the sibling benchmark; this checkout's code
from classification import (  # noqa: E402
    benchmark_parser,
    benchmark_project,
    kedro_run,
    write_params,
)

from actionlab.metrics.anomaly import ALL_OTHERS, INCORRECT, separation  # noqa: E402

COMPARISONS = {INCORRECT: "vs own incorrect", ALL_OTHERS: "vs all others"}
PIPELINES = "ingestion,preprocessing,embedding,anomaly"


def params_for(args: argparse.Namespace, seed: int) -> dict[str, dict[str, Any]]:
    anomaly: dict[str, Any] = {"target": "all", "seed": seed, "progress": False}
    if args.models:
        anomaly["models"] = args.models
    params: dict[str, dict[str, Any]] = {"embedding": {"encoder": args.encoder}, "anomaly": anomaly}
    counts = (("clips_per_action", args.clips), ("incorrect_per_action", args.incorrect), ("num_actors", args.actors))
    synthetic = {k: v for k, v in counts if v}
    if synthetic:
        params["ingestion"] = {"synthetic": synthetic}
    return params


def cell(values: pd.Series) -> str:
    """``mean (min-max)`` of a value over the seeds (``mean`` alone when they agree)."""
    low, high = values.min(), values.max()
    return f"{values.mean():.3f}" if np.isclose(low, high) else f"{values.mean():.3f} ({low:.3f}-{high:.3f})"


def summary(rows: pd.DataFrame, measures: dict[str, str]) -> pd.DataFrame:
    """One row per model and target plus a ``mean`` row per model (the mean over targets of each
    seed, then its mean and range over the seeds): ``mean (min-max)`` of each measure."""
    out = []
    for model, own in rows.groupby("model", sort=False):
        for target, one in own.groupby("target", sort=True):
            out.append({"model": model, "target": target, **{name: cell(one[m]) for m, name in measures.items()}})
        per_seed = own.groupby("seed")[list(measures)].mean()
        out.append({"model": model, "target": "**mean**",
                    **{name: f"**{cell(per_seed[m])}**" for m, name in measures.items()}})  # fmt: skip
    return pd.DataFrame(out)


def builtin(args: argparse.Namespace, project: Path) -> pd.DataFrame:
    """The report's ``incorrect`` and ``all_others`` ROC-AUC per seed, model and target."""
    rows = []
    for i, seed in enumerate(args.seeds):
        write_params(project, params_for(args, seed))
        seconds = kedro_run(project, PIPELINES if i == 0 else "anomaly")
        report = pd.read_csv(project / "data/08_reporting/anomaly_report.csv")
        report = report[report["comparison"].isin(list(COMPARISONS))]
        table = report.pivot_table(index=["model", "target"], columns="comparison", values="roc_auc", sort=False)
        rows.append(table.reset_index().assign(seed=seed))
        counts = report.groupby("comparison")[["negatives", "positives"]].sum().to_dict("index")
        print(f"seed {seed}: {seconds:.0f} s; clips summed over targets (negatives, positives): {counts}", flush=True)
    return pd.concat(rows, ignore_index=True)


def fold_labels(labels: pd.DataFrame, csv: Path, person: str, out: Path) -> Path:
    """labels.csv with absolute paths and ``split``: ``test`` for ``person``'s clips, else ``train``."""
    fold = labels.assign(path=[str((csv.parent / p).resolve()) for p in labels["path"]],
                         split=np.where(labels["person"].astype(str) == person, "test", "train"))  # fmt: skip
    fold.to_csv(out, index=False)
    return out


def held_out_auc(scores: pd.DataFrame) -> pd.DataFrame:
    """Per model and target: ROC-AUC of the target's test clips against the other test clips."""
    test = scores[scores["split"].astype(str) == "test"]
    rows = []
    for (model, target), own in test.groupby(["model", "target"], sort=False):
        is_target = own["label"].astype(str) == str(target)
        auc = separation(own.loc[is_target, "score"], own.loc[~is_target, "score"])["roc_auc"]
        rows.append({"model": model, "target": target, ALL_OTHERS: auc})
    return pd.DataFrame(rows)


def ud810(args: argparse.Namespace, project: Path) -> pd.DataFrame:
    """Leave-one-person-out ROC-AUC per seed, fold (held-out person), model and target."""
    labels = pd.read_csv(args.ud810)
    csv = project / "fold_labels.csv"
    rows = []
    for person in sorted(labels["person"].astype(str).unique()):
        fold_labels(labels, args.ud810, person, csv)
        for i, seed in enumerate(args.seeds):
            params = params_for(args, seed)
            params["ingestion"] = {"source": "labels_csv", "root": str(csv), "group_column": "person"}
            write_params(project, params)
            seconds = kedro_run(project, PIPELINES if i == 0 else "anomaly")
            table = held_out_auc(pd.read_parquet(project / "data/07_model_output/anomaly_scores.parquet"))
            rows.append(table.assign(seed=seed, fold=person))
            print(f"held out {person}, seed {seed}: {seconds:.0f} s", flush=True)
    rows = pd.concat(rows, ignore_index=True)
    print("\nper fold (mean over seeds and targets):\n"
          + rows.groupby(["model", "fold"], sort=False)[ALL_OTHERS].mean().unstack().round(3).to_markdown())  # fmt: skip
    # the mean over the folds, per seed: the unit summary() averages and ranges over
    return rows.groupby(["model", "target", "seed"], sort=False)[ALL_OTHERS].mean().reset_index()


def main() -> None:
    parser = benchmark_parser(__doc__.splitlines()[0], "anomaly.models")
    parser.add_argument("--clips", type=int, default=None, help="builtin: ingestion.synthetic.clips_per_action")
    parser.add_argument("--incorrect", type=int, default=None, help="builtin: ingestion.synthetic.incorrect_per_action")
    parser.add_argument("--actors", type=int, default=None, help="builtin: ingestion.synthetic.num_actors")
    args = parser.parse_args()
    folder, project = benchmark_project(args)
    started = time.perf_counter()
    rows = builtin(args, project) if args.data == "builtin" else ud810(args, project)
    measures = COMPARISONS if args.data == "builtin" else {ALL_OTHERS: "vs the other actions (held-out person)"}
    print(f"\n{args.data}, encoder {args.encoder}, seeds {args.seeds}, ROC-AUC mean (range over seeds); "
          f"{time.perf_counter() - started:.0f} s\n")  # fmt: skip
    print(summary(rows, measures).to_markdown(index=False))
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
