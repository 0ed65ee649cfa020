"""The clip models (cnn_lstm, cnn3d) in the `classification` pipeline, on a copy of the default
project: compared like the other models, logged to MLflow, saved and rebuilt."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actionlab.datasets import ClassifierDataset
from actionlab.engine import PartitionStore
from actionlab.models.clip_data import ClipDataset
from actionlab.models.clip_train import predict_proba
from actionlab.models.compare import classifier_from_blob

from .conftest import FAST_PARAMS, copy_project, run_pipelines

pytestmark = pytest.mark.slow
MODELS = ["cnn_lstm", "cnn3d"]
CLIP = {"frames_per_clip": 4, "stride": 2, "input_size": 32, "views": 2, "windows": 1, "epochs": 2, "batch_size": 8}


def test_clip_models_are_compared_logged_and_rebuilt(default_project: Path, tmp_path: Path, monkeypatch):
    project = copy_project(default_project, tmp_path / "project")
    monkeypatch.chdir(project)
    params = copy.deepcopy(FAST_PARAMS)
    params["classification"] = {
        **params["classification"], "models": MODELS, "cv": "split", "clip": CLIP,
        "cnn_lstm": {"hidden": 16}, "cnn3d": {"arch": "mc3_18"},
    }  # fmt: skip
    run_pipelines(project, ["classification"], params)

    table = pd.read_csv(project / "data/08_reporting/classification_comparison.csv")
    assert table["model"].tolist() == MODELS
    assert table[["accuracy", "mean_class_accuracy", "macro_f1"]].stack().between(0.0, 1.0).all()
    assert (table["folds"] == 1).all()
    assert (table[["train_time_s", "parameters", "inference_clips_per_s"]] > 0).all().all()
    cnn3d_params, lstm_params = (int(table.set_index("model").at[m, "parameters"]) for m in ("cnn3d", "cnn_lstm"))
    assert cnn3d_params > lstm_params  # an 11.5 M video ResNet against a ResNet-18 (11.2 M) + tiny LSTM

    db = sqlite3.connect(project / "mlflow.db")
    (run,) = db.execute("select run_uuid from runs order by start_time desc limit 1").fetchone()
    keys = dict(db.execute("select key, count(*) from metrics where run_uuid = ? group by key", (run,)).fetchall())
    for model in MODELS:
        assert {f"classification.{model}.{m}" for m in ("accuracy", "macro_f1", "train_time_s")} <= set(keys)
        assert keys[f"classification.{model}.train_loss"] >= 1  # the curve, one point per epoch
        png = project / "data/08_reporting/classification/confusion" / f"{model}.png"
        assert png.read_bytes()[:4] == b"\x89PNG"
    report = pd.read_csv(project / "data/08_reporting/classification_report.csv")
    assert set(report["model"]) == set(MODELS)

    manifest = pd.read_parquet(project / "data/02_intermediate/manifest.parquet")
    test_ids = set(manifest.loc[manifest["split"] == "test", "video_id"])
    predictions = pd.read_parquet(project / "data/07_model_output/classification_predictions.parquet")
    assert set(predictions["video_id"]) == test_ids and len(predictions) == len(MODELS) * len(test_ids)

    # the saved models rebuild and give the predictions' probabilities on the same windows
    clip_index = pd.read_parquet(project / "data/03_primary/clip_index.parquet")
    clips = PartitionStore(str(project / "data/03_primary/clips"), ".h5")
    rows = clip_index.set_index("video_id").loc[sorted(test_ids)].reset_index()
    for name in MODELS:
        blob = ClassifierDataset(str(project / f"data/06_models/classifiers/{name}.pt")).load()
        assert blob["input"] == "clips" and blob["clip"] == {k: CLIP[k] for k in ("frames_per_clip", "stride", "input_size", "views")}
        assert "preprocessing.size" in blob["lineage"]["params"]  # the clips' lineage, not the features'
        assert "embedding.encoder" not in blob["lineage"]["params"]
        model = classifier_from_blob(blob)
        assert sum(p.numel() for p in model.parameters()) == int(table.set_index("model").at[name, "parameters"])
        windows = ClipDataset.from_index(
            rows, clips, blob["classes"], frames_per_clip=blob["clip"]["frames_per_clip"],
            stride=blob["clip"]["stride"], size=blob["clip"]["input_size"], views=blob["clip"]["views"],
        )  # fmt: skip
        proba = predict_proba(model, windows, device="cpu")
        own = predictions[predictions["model"] == name].set_index("video_id").loc[rows["video_id"]]
        expected = own[[f"p_{c}" for c in blob["classes"]]].to_numpy()
        np.testing.assert_allclose(proba, expected, atol=1e-5)
