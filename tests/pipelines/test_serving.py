"""The default run's classifiers as MLflow models: each logged, the best registered, and the
registered one (SSL features: the encoder bundled) predicting a video as the local files do."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from actionlab.datasets import ClassifierDataset
from actionlab.inference.predictor import Predictor
from actionlab.models import load_frame_encoder

NAME = "actionlab-classifier"  # conf/base/parameters_classification.yml registered_model_name


def test_best_classifier_is_registered_and_predicts_like_the_local_model(default_project: Path):
    uri = f"sqlite:///{(default_project / 'mlflow.db').resolve()}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    (version,) = client.search_model_versions(f"name='{NAME}'")
    comparison = pd.read_csv(default_project / "data/08_reporting/classification_comparison.csv")
    best = comparison.sort_values("accuracy", ascending=False, kind="stable")["model"].iloc[0]
    logged = client.get_logged_model(version.source.removeprefix("models:/"))
    assert logged.name == f"classifier_{best}"
    assert logged.params["embedding.encoder"] == "ssl"
    run_models = {m.name for m in client.search_logged_models([logged.experiment_id]) if m.source_run_id == version.run_id}
    assert {f"classifier_{m}" for m in comparison["model"]} <= run_models  # every kept model is logged
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        model = mlflow.pyfunc.load_model(f"models:/{NAME}/{version.version}")
    finally:
        mlflow.set_tracking_uri(previous)
    manifest = pd.read_parquet(default_project / "data/02_intermediate/manifest.parquet")
    path = str(manifest.loc[manifest["split"] == "test", "path"].iloc[0])
    out = model.predict(pd.DataFrame({"path": [path]}), params={"top_k": 3})
    blob = ClassifierDataset(str(default_project / f"data/06_models/classifiers/{best}.pt")).load()
    ssl = load_frame_encoder(default_project / "data/04_feature/ssl_encoder.pt")
    expected = Predictor.from_blob(blob, ssl_encoder=ssl).predict(path, top_k=3)
    assert list(out["label"]) == [label for label, _ in expected]
    assert list(out["probability"]) == pytest.approx([p for _, p in expected], abs=1e-5)
