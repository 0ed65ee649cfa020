"""Inference speed: video file in, class probabilities out (decode, preprocess, encode, classify),
for every kept classifier of a project, as `actionlab predict` runs it.

Usage (in a project that has run `kedro run`, which keeps the models in data/06_models/classifiers):

    python benchmarks/inference.py [--project .] [--clips 15] [--threads 2]

Prints a markdown table: per model the clips per second and milliseconds per clip over the test
videos of the manifest (one warm-up clip first), on the CPU.
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import pandas as pd
import torch

from actionlab.inference.loading import load_predictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path("."))
    parser.add_argument("--clips", type=int, default=15, help="test videos to classify per model")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = args.project
    manifest = pd.read_parquet(root / "data/02_intermediate/manifest.parquet")
    accepted = manifest[manifest["status"] == "accepted"]
    test = accepted[accepted["split"] == "test"]
    paths = [str(root / p) if not Path(p).is_absolute() else p for p in (test if len(test) else accepted)["path"]]
    paths = paths[: args.clips]
    models = sorted((root / "data/06_models/classifiers").glob("*.pt"))
    local = {p.stem: partial(torch.load, p, map_location="cpu", weights_only=True) for p in models}
    rows = []
    for name in local:
        predictor = load_predictor(name, local=local, ssl_encoder=root / "data/04_feature/ssl_encoder.pt")
        predictor.predict_proba(paths[0])  # warm-up
        started = time.perf_counter()
        for path in paths:
            predictor.predict_proba(path)
        seconds = time.perf_counter() - started
        rows.append({"model": name, "input": predictor.input, "clips": len(paths),
                     "clips/s": round(len(paths) / seconds, 1), "ms/clip": round(1000 * seconds / len(paths))})  # fmt: skip
    print(f"{len(paths)} test videos, {args.threads} threads, CPU\n")
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == "__main__":
    main()
