"""Does video-consistent augmentation of the anomaly scorers' train clips help? ROC-AUC per
number of augmented copies, seed and model on a project that has run the embedding pipeline.

For each seed the `augment_anomaly_clips` node makes the largest number of copies once; a copy
is seeded by (seed, video id, copy number), so the copies 0..c-1 of that table are exactly what
`anomaly.augment.copies=c` makes. `train_anomaly_scorers` then fits every target x model on the
target's correct train clips plus those copies, and the test clips' ROC-AUC (target correct vs
its incorrect clips, and vs all other clips) is averaged over the targets (as `evaluate_anomaly`
reports it). Prints one markdown table (mean over seeds, with the per-seed values).

    python benchmarks/anomaly_augment.py --project PATH --copies 0 2 4 --seeds 0 1 2 --models autoencoder knn

PATH: a project folder after `kedro run --pipelines ingestion,preprocessing,embedding`, e.g. with
`ingestion.synthetic.clips_per_action: 16, incorrect_per_action: 8` in its conf/local.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from actionlab.metrics.anomaly import anomaly_table
from actionlab.pipelines.anomaly.nodes import (
    _test_rows,
    augment_anomaly_clips,
    train_anomaly_scorers,
)

COMPARISONS = ("incorrect", "all_others")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--copies", type=int, nargs="+", default=[0, 2, 4])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=["autoencoder", "knn"])
    args = parser.parse_args()
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    bootstrap_project(args.project)
    with KedroSession.create(project_path=args.project) as session:
        context = session.load_context()
        catalog = context.catalog
        data = {name: catalog.load(name) for name in
                ("clip_embeddings", "manifest", "clip_index", "clips", "ssl_encoder", "frame_features")}  # fmt: skip
        base = {**context.params["anomaly"], "models": args.models, "progress": False, "frame_plot_clips": 0}
        embedding = context.params["embedding"]
    rows = []
    for seed in args.seeds:
        params = {**base, "seed": seed, "augment": {**base["augment"], "copies": max(args.copies)}}
        started = time.perf_counter()
        every = augment_anomaly_clips(
            clip_embeddings=data["clip_embeddings"], manifest=data["manifest"], clip_index=data["clip_index"],
            clips=data["clips"], ssl_encoder=data["ssl_encoder"], params=params, embedding=embedding,
        )  # fmt: skip
        print(f"seed {seed}: {len(every)} augmented copies in {time.perf_counter() - started:.0f} s", flush=True)
        for copies in args.copies:
            augmented = every[every["copy"] < copies] if len(every) else every
            _, scores, *_ = train_anomaly_scorers(data["clip_embeddings"], data["manifest"], data["frame_features"],
                                                  augmented, params)  # fmt: skip
            for (target, model), own in scores.groupby(["target", "model"]):
                test = _test_rows(own.reset_index(drop=True), str(target))
                table = anomaly_table(test, str(target), float(own["threshold"].iloc[0])).set_index("comparison")
                for comparison in COMPARISONS:
                    rows.append({"copies": copies, "seed": seed, "model": model, "target": target,
                                 "comparison": comparison, "roc_auc": table.loc[comparison, "roc_auc"]})  # fmt: skip
            print(f"  copies {copies}: done", flush=True)
    result = pd.DataFrame(rows)
    per_seed = result.groupby(["model", "comparison", "copies", "seed"])["roc_auc"].mean().unstack("seed")
    summary = per_seed.assign(mean=per_seed.mean(axis=1)).round(3)
    print(summary.to_markdown())
    per_target = result.groupby(["model", "comparison", "target", "copies"])["roc_auc"].mean().unstack("copies")
    print(per_target.round(3).to_markdown())


if __name__ == "__main__":
    main()
