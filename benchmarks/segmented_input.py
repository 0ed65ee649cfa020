"""Clustering and classification on segmented clips next to raw ones (`embedding.input`), over seeds.

Runs the real pipelines with `kedro run` in a scratch copy of the project: ingestion,
preprocessing and segmentation once, then per seed and input the SSL encoder (trained on that
input's clips), the embedding, clustering and classification. Prints one markdown table: per
input the clustering NMI and Hungarian accuracy (k = number of labels, on every clip and on the
clips SSL did not train on) and each classifier's test accuracy, as mean and range over seeds.

    python benchmarks/segmented_input.py --data builtin --encoder ssl --seeds 0 1 2
    python benchmarks/segmented_input.py --data ud810 --encoder ssl --seeds 0 1 2
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
from classification import benchmark_parser, benchmark_project, kedro_run, write_params

INPUTS = ("raw", "segmented")


def params_for(args, seed: int, choice: str) -> dict:
    params = {
        "embedding": {"encoder": args.encoder, "input": choice},
        "ssl_training": {"seed": seed},  # SSL trains on the frames embedding.input names
        "classification": {"seed": seed, "progress": False, **({"models": args.models} if args.models else {})},
    }
    if args.data == "ud810":
        params["ingestion"] = {"source": "labels_csv", "root": str(args.ud810), "group_column": "person"}
        params["classification"]["cv"] = "group"
    return params


def spread(values: pd.Series) -> str:
    return f"{values.mean():.3f} ({values.min():.3f}-{values.max():.3f})"


def main() -> None:
    args = benchmark_parser(__doc__.splitlines()[0], "classification.models").parse_args()
    folder, project = benchmark_project(args)
    rows = []
    first = True
    for seed in args.seeds:
        for choice in INPUTS:
            write_params(project, params_for(args, seed, choice))
            pipelines = None if first else "ssl_training,embedding,clustering,classification"
            seconds = kedro_run(project, pipelines)
            first = False
            scores = json.loads((project / "data/08_reporting/clustering_scores.json").read_text())
            table = pd.read_csv(project / "data/08_reporting/classification_comparison.csv")
            unseen = [r for r in scores["table"] if r["k_choice"] == "labels" and r["clips"] == "unseen"]
            row = {"seed": seed, "input": choice, "nmi": scores["nmi"], "accuracy": scores["accuracy"],
                   "nmi_unseen": unseen[0]["nmi"] if unseen else float("nan")}  # fmt: skip
            row |= {f"clf {m}": a for m, a in zip(table["model"], table["accuracy"], strict=True)}
            rows.append(row)
            print(f"seed {seed}, {choice}: {seconds:.0f} s, {row}", flush=True)
    frame = pd.DataFrame(rows)
    out = []
    for choice, group in frame.groupby("input", sort=False):
        out.append({"input": choice, **{c: spread(group[c]) for c in frame.columns if c not in ("seed", "input")}})
    print(f"\n{args.data}, encoder {args.encoder}, seeds {args.seeds}\n")
    print(pd.DataFrame(out).to_markdown(index=False))
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
