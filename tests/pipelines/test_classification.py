"""The `classification` pipeline on the default project's features: split cv (in the default run)
and leave-one-group-out (on a copy)."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from actionlab.datasets import ClassifierDataset
from actionlab.models.compare import classifier_from_blob

from .conftest import FAST_PARAMS, copy_project, run_pipelines

pytestmark = pytest.mark.slow
MODELS = ["transformer", "frame_avg", "linear"]
MEASURES = ["accuracy", "mean_class_accuracy", "macro_f1"]


def _metric_keys(project: Path) -> dict[str, int]:
    """Metric key -> number of logged points, in the project's latest MLflow run."""
    db = sqlite3.connect(project / "mlflow.db")
    (run,) = db.execute("select run_uuid from runs order by start_time desc limit 1").fetchone()
    return dict(db.execute("select key, count(*) from metrics where run_uuid = ? group by key", (run,)).fetchall())


def test_split_cv_in_the_default_run_compares_every_model(default_project: Path):
    reporting = default_project / "data/08_reporting"
    table = pd.read_csv(reporting / "classification_comparison.csv")
    assert table["model"].tolist() == MODELS
    assert table[MEASURES].stack().between(0.0, 1.0).all()
    assert (table["folds"] == 1).all() and (table["parameters"] > 0).all()
    assert (table["inference_clips_per_s"] > 0).all()
    keys = _metric_keys(default_project)
    for model in MODELS:
        for measure in MEASURES:
            assert f"classification.{model}.{measure}" in keys
        assert (reporting / "classification/confusion" / f"{model}.png").read_bytes()[:4] == b"\x89PNG"
    assert keys["classification.transformer.train_loss"] >= 2  # a curve: one point per epoch
    assert (reporting / "classification_history.png").is_file()
    report = pd.read_csv(reporting / "classification_report.csv")
    assert set(report["model"]) == set(MODELS)
    # predictions: the test split only, one row per test clip and model
    manifest = pd.read_parquet(default_project / "data/02_intermediate/manifest.parquet")
    test_ids = set(manifest.loc[manifest["split"] == "test", "video_id"])
    predictions = pd.read_parquet(default_project / "data/07_model_output/classification_predictions.parquet")
    assert set(predictions["video_id"]) == test_ids
    assert len(predictions) == len(MODELS) * len(test_ids)
    probs = predictions.filter(like="p_")
    assert probs.shape[1] == manifest["label"].nunique()
    assert ((probs.sum(axis=1) - 1.0).abs() < 1e-5).all()


def test_saved_models_carry_classes_and_the_features_lineage(default_project: Path):
    manifest = pd.read_parquet(default_project / "data/02_intermediate/manifest.parquet")
    for model in MODELS:
        blob = ClassifierDataset(str(default_project / f"data/06_models/classifiers/{model}.pt")).load()
        assert blob["model"] == model and len(blob["classes"]) == 6
        assert blob["lineage"]["params"]["embedding.encoder"] == "ssl"
        assert "ssl_encoder.digest" in blob["lineage"]["params"]
        assert "preprocessing.size" in blob["lineage"]["params"]
        assert blob["clip_seconds"] == pytest.approx((manifest["frames"] / manifest["fps"]).median())
        classifier_from_blob(blob)  # rebuilds


def test_group_cv_leaves_each_group_out_once(default_project: Path, tmp_path: Path, monkeypatch):
    project = copy_project(default_project, tmp_path / "project")
    monkeypatch.chdir(project)
    params = copy.deepcopy(FAST_PARAMS)
    params["classification"] = {**params["classification"], "cv": "group", "train": {"epochs": 6}}
    run_pipelines(project, ["classification"], params)
    embeddings = pd.read_parquet(project / "data/04_feature/clip_embeddings.parquet")
    groups = embeddings["group"].nunique()
    predictions = pd.read_parquet(project / "data/07_model_output/classification_predictions.parquet")
    assert len(predictions) == len(MODELS) * len(embeddings)  # every clip tested once per model
    by_fold = predictions.merge(embeddings[["video_id", "group"]], on="video_id")
    assert (by_fold["fold"] == by_fold["group"].astype(str)).all()  # tested in its own group's fold
    table = pd.read_csv(project / "data/08_reporting/classification_comparison.csv")
    assert table["model"].tolist() == MODELS and (table["folds"] == groups).all()
    assert table[["accuracy", "accuracy_std"]].stack().between(0.0, 1.0).all()
    assert (table["clips"] == len(embeddings)).all()
    keys = _metric_keys(project)
    assert {f"classification.{m}.accuracy_std" for m in MODELS} <= set(keys)
    assert sorted(p.stem for p in (project / "data/06_models/classifiers").glob("*.pt")) == sorted(MODELS)
