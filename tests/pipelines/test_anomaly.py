"""The `anomaly` pipeline on a copy of the default project: outputs per target and model, the
percentile threshold, loadable scorers and MLflow metric keys."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from actionlab.anomaly.scorers import scorer_from_blob

from .conftest import copy_project, run_pipelines

pytestmark = pytest.mark.slow
MODELS = ["mahalanobis", "knn", "autoencoder"]
FAST = {"anomaly": {"models": MODELS, "progress": False, "device": "cpu",
                    "threshold": {"percentile": 90.0}, "train": {"epochs": 15, "patience": 5}}}  # fmt: skip


COPIES = 4  # more clips per target and split than the default project's two


def _replicate(root: Path) -> None:
    """Each clip of the copy's embedding table (and its manifest row) ``COPIES`` times, with new
    video ids and a little noise on the embedding, so every target has several clips per split."""
    rng = np.random.default_rng(0)
    clips = pd.read_parquet(root / "data/04_feature/clip_embeddings.parquet")
    manifest = pd.read_parquet(root / "data/02_intermediate/manifest.parquet")
    x = np.stack(clips["embedding"].to_numpy())
    noise = 0.05 * x.std(axis=0)
    copies, rows = [], []
    for i in range(COPIES):
        own = clips.assign(video_id=clips["video_id"].astype(str) + f"_{i}")
        own["embedding"] = list((x + rng.normal(size=x.shape) * noise).astype(x.dtype))
        copies.append(own)
        rows.append(manifest.assign(video_id=manifest["video_id"].astype(str) + f"_{i}"))
    pd.concat(copies, ignore_index=True).to_parquet(root / "data/04_feature/clip_embeddings.parquet")
    pd.concat(rows, ignore_index=True).to_parquet(root / "data/02_intermediate/manifest.parquet")


@pytest.fixture(scope="module")
def anomaly_project(default_project: Path, tmp_path_factory) -> Path:
    root = copy_project(default_project, tmp_path_factory.mktemp("anomaly") / "project")
    _replicate(root)
    run_pipelines(root, ["anomaly"], FAST)
    return root


def test_scores_and_report_cover_every_target_and_model(anomaly_project: Path):
    clips = pd.read_parquet(anomaly_project / "data/04_feature/clip_embeddings.parquet")
    targets = sorted(clips["label"].astype(str).unique())
    scores = pd.read_parquet(anomaly_project / "data/07_model_output/anomaly_scores.parquet")
    pairs = {(t, m) for t in targets for m in MODELS}
    assert set(map(tuple, scores[["target", "model"]].drop_duplicates().to_numpy())) == pairs
    assert (scores.groupby(["target", "model"]).size() == len(clips)).all()
    assert np.isfinite(scores["score"]).all()
    assert (scores["flagged"] == (scores["score"] >= scores["threshold"])).all()
    report = pd.read_csv(anomaly_project / "data/08_reporting/anomaly_report.csv")
    assert set(map(tuple, report[["target", "model"]].drop_duplicates().to_numpy())) == pairs
    others = report[report["comparison"] == "all_others"]
    assert len(others) == len(pairs) and others["roc_auc"].between(0, 1).all()
    assert report["fpr"].between(0, 1).all()
    plots = {p.stem for p in (anomaly_project / "data/08_reporting/anomaly").glob("*.png")}
    assert {f"{t}__{m}__{kind}" for t, m in pairs for kind in ("scores", "roc")} <= plots
    assert plots - {f"{t}__{m}__{kind}" for t, m in pairs for kind in ("scores", "roc", "confusion")} == set()


def test_competitive_class_is_the_nearest_other_label_and_is_reported(anomaly_project: Path):
    scores = pd.read_parquet(anomaly_project / "data/07_model_output/anomaly_scores.parquet")
    report = pd.read_csv(anomaly_project / "data/08_reporting/anomaly_competitive_report.csv")
    for (target, model), own in scores.groupby(["target", "model"]):
        (competitive,) = own["competitive"].unique()
        assert competitive in set(own["label"]) - {target}
        # nearest: no other label's validation clips sit lower against the target's validation scores
        normal_val = own[(own["label"] == target) & (own["variant"] == "correct") & (own["split"] == "val")]
        val = own[own["split"] == "val"]
        aucs = {label: roc_auc_score(np.r_[np.zeros(len(normal_val)), np.ones(len(rows))],
                                     np.r_[normal_val["score"], rows["score"]])
                for label, rows in val[val["label"] != target].groupby("label")}  # fmt: skip
        assert aucs[competitive] == pytest.approx(min(aucs.values()))
        rows = report[(report["target"] == target) & (report["model"] == model)]
        assert set(rows["competitive"]) == {competitive}
        test = own[own["split"] == "test"]
        flagged = test["score"] >= own["threshold"].iloc[0]
        correct_target = test[(test["label"] == target) & (test["variant"] == "correct")]
        recall = (~flagged[correct_target.index]).mean()  # target clips kept as the target
        assert rows.set_index("class").loc[target, "recall"] == pytest.approx(recall)
        assert rows.set_index("class").loc[competitive, "support"] == (test["label"] == competitive).sum()
        assert (anomaly_project / f"data/08_reporting/anomaly/{target}__{model}__confusion.png").is_file()


def test_threshold_is_the_percentile_of_the_targets_validation_scores(anomaly_project: Path):
    scores = pd.read_parquet(anomaly_project / "data/07_model_output/anomaly_scores.parquet")
    for (target, _model), own in scores.groupby(["target", "model"]):
        val = own[(own["label"] == target) & (own["variant"] == "correct") & (own["split"] == "val")]
        assert len(val) >= 2 * COPIES  # every correct val clip of the default project, copied
        assert own["threshold"].iloc[0] == pytest.approx(np.percentile(val["score"], 90.0))


def test_saved_scorers_load_safely_and_score_like_the_run(anomaly_project: Path):
    clips = pd.read_parquet(anomaly_project / "data/04_feature/clip_embeddings.parquet")
    x = np.stack(clips["embedding"].to_numpy()).astype(np.float64)
    scores = pd.read_parquet(anomaly_project / "data/07_model_output/anomaly_scores.parquet")
    files = sorted((anomaly_project / "data/06_models/anomaly").glob("*.pt"))
    assert len(files) == scores[["target", "model"]].drop_duplicates().shape[0]
    for path in files:
        blob = torch.load(path, weights_only=True)
        target, model = path.stem.split("__")
        assert (blob["target"], blob["scorer"]) == (target, model)
        own = scores[(scores["target"] == target) & (scores["model"] == model)]
        assert blob["threshold"] == pytest.approx(own["threshold"].iloc[0])
        again = scorer_from_blob(blob).score(x)
        np.testing.assert_allclose(again, own["score"].to_numpy(), rtol=1e-4, atol=1e-5)


def test_mlflow_metric_keys(anomaly_project: Path):
    db = sqlite3.connect(anomaly_project / "mlflow.db")
    (run,) = db.execute("select run_uuid from runs order by start_time desc limit 1").fetchone()
    keys = {k for (k,) in db.execute("select distinct key from metrics where run_uuid = ?", (run,))}
    scores = pd.read_parquet(anomaly_project / "data/07_model_output/anomaly_scores.parquet")
    for target, model in scores[["target", "model"]].drop_duplicates().to_numpy():
        assert {f"anomaly.{target}.{model}.roc_auc.all_others", f"anomaly.{target}.{model}.fpr"} <= keys
