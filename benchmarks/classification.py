"""Classifier quality over seeds: every model of a run, per encoder, on the built-in videos or ud810.

Runs the real pipelines with `kedro run` in a scratch copy of the project (conf/, pyproject.toml;
its own data/ and mlflow.db), once per seed, and prints one markdown table: per model the correct
test clips per seed, the mean accuracy with its range, the mean training time and the inference
clips/s of the comparison table. The SSL encoder is retrained per seed (`ssl_training.seed`);
the `motion` encoder is weight-free, so only the classifiers' seeds change.

    python benchmarks/classification.py --data builtin --encoder motion --seeds 0 1 2
    python benchmarks/classification.py --data ud810 --encoder ssl --seeds 0 1 2
    python benchmarks/classification.py --data builtin --models cnn_lstm cnn3d --seeds 0 1 2

`--data ud810` reads ../shared/data/real/ud810_actions/labels.csv (or `--ud810 PATH`) with the
person as the group and leave-one-person-out (`classification.cv=group`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
UD810 = ROOT.parent / "shared" / "data" / "real" / "ud810_actions" / "labels.csv"


def scratch_project(folder: Path) -> Path:
    """conf/ (without local), pyproject.toml and an empty data/: a project `kedro run` can run."""
    shutil.copytree(ROOT / "conf", folder / "conf", ignore=shutil.ignore_patterns("local"))
    (folder / "conf" / "local").mkdir()
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    (folder / "data").mkdir()
    (folder / "src").mkdir()  # Kedro wants the folder; the code comes from this checkout (PYTHONPATH)
    return folder


def write_params(project: Path, params: dict[str, dict[str, Any]]) -> None:
    """conf/local/parameters_<group>.yml for each group (they override only the keys they name);
    the videos' root goes to conf/local/globals.yml, which feeds the parameter and the dataset."""
    for old in (project / "conf" / "local").glob("parameters_*.yml"):
        old.unlink()
    params = {group: dict(values) for group, values in params.items()}
    if "root" in params.get("ingestion", {}):
        root = params["ingestion"].pop("root")
        (project / "conf" / "local" / "globals.yml").write_text(yaml.safe_dump({"ingestion": {"root": root}}))
    for group, values in params.items():
        (project / "conf" / "local" / f"parameters_{group}.yml").write_text(yaml.safe_dump({group: values}))


def kedro_run(project: Path, pipelines: str | None) -> float:
    """`kedro run [--pipelines ...]` in ``project``; returns its wall time in seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "KEDRO_DISABLE_TELEMETRY": "true", "MPLBACKEND": "Agg"}
    command = [str(Path(sys.executable).with_name("kedro")), "run", *(["--pipelines", pipelines] if pipelines else [])]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"`{' '.join(command)}` failed in {project}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def params_for(args: argparse.Namespace, seed: int) -> dict[str, dict[str, Any]]:
    params: dict[str, dict[str, Any]] = {
        "embedding": {"encoder": args.encoder},
        "classification": {"seed": seed, "progress": False, **({"models": args.models} if args.models else {})},
        "ssl_training": {"seed": seed},
    }
    if args.data == "ud810":
        params["ingestion"] = {"source": "labels_csv", "root": str(args.ud810), "group_column": "person"}
        params["classification"]["cv"] = "group"
    return params


def summary(rows: pd.DataFrame, seeds: list[int]) -> pd.DataFrame:
    """One row per model: correct/clips per seed, mean and range of the accuracy, costs."""
    out = []
    for model, group in rows.groupby("model", sort=False):
        own = group.set_index("seed").loc[seeds]
        out.append({
            "model": model,
            "correct per seed": " / ".join(f"{int(c)}" for c in own["correct"]) + f" of {int(own['clips'].iloc[0])}",
            "accuracy mean": round(own["accuracy"].mean(), 3),
            "accuracy range": f"{own['accuracy'].min():.3f}-{own['accuracy'].max():.3f}",
            "train s (mean per fit)": round(own["train_time_s"].mean(), 1),
            "clips/s": round(own["inference_clips_per_s"].mean(), 1),
        })  # fmt: skip
    return pd.DataFrame(out)


def benchmark_parser(description: str, models: str) -> argparse.ArgumentParser:
    """The options every quality benchmark shares; ``models``: the parameter ``--models`` sets."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", choices=["builtin", "ud810"], default="builtin")
    parser.add_argument("--encoder", default="motion", help="embedding.encoder (motion, ssl, ...)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=None, help=f"{models} (default: the shipped list)")
    parser.add_argument("--ud810", type=Path, default=UD810, help="ud810 labels.csv")
    parser.add_argument("--keep", type=Path, default=None, help="run in this folder and keep it")
    return parser


def benchmark_project(args: argparse.Namespace) -> tuple[Path, Path]:
    """(the folder, a scratch project in it) for parsed ``benchmark_parser`` options."""
    if args.data == "ud810" and not args.ud810.is_file():
        sys.exit(f"--ud810 {args.ud810}: no such labels.csv; pass the path of ud810_actions/labels.csv.")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="actionlab-bench-"))
    return folder, scratch_project(folder / "project")


def main() -> None:
    args = benchmark_parser(__doc__.splitlines()[0], "classification.models").parse_args()
    folder, project = benchmark_project(args)
    rows, first = [], True
    for seed in args.seeds:
        write_params(project, params_for(args, seed))
        if first or args.encoder == "ssl":  # ingestion and preprocessing once; SSL per seed
            pipelines = None if first else "ssl_training,embedding,classification"
        else:
            pipelines = "classification"
        seconds = kedro_run(project, pipelines)
        first = False
        table = pd.read_csv(project / "data/08_reporting/classification_comparison.csv").assign(seed=seed)
        rows.append(table)
        print(f"seed {seed}: {seconds:.0f} s\n{table[['model', 'accuracy', 'correct', 'clips']].to_string(index=False)}", flush=True)
    print(f"\n{args.data}, encoder {args.encoder}, seeds {args.seeds}\n")
    print(summary(pd.concat(rows, ignore_index=True), args.seeds).to_markdown(index=False))
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
