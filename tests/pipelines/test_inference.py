"""The `inference` pipeline on a copy of the default project: the registered classifier on one
video, the top-k table, the timeline files and the overlay, all in the run's MLflow run."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from actionlab.datasets import ClassifierDataset
from actionlab.inference.predictor import Predictor
from actionlab.models import load_frame_encoder
from actionlab.video.probe import probe

from .conftest import copy_project, run_pipelines

pytestmark = pytest.mark.slow


def _test_video(project: Path) -> str:
    manifest = pd.read_parquet(project / "data/02_intermediate/manifest.parquet")
    return str(manifest.loc[manifest["split"] == "test", "path"].iloc[0])


def test_registered_model_classifies_a_video_and_draws_its_timeline(default_project: Path, tmp_path: Path, monkeypatch):
    root = copy_project(default_project, tmp_path / "project")
    monkeypatch.chdir(root)
    video = _test_video(root)
    run_pipelines(root, ["inference"], {"inference": {"video": video, "start": 0.1, "top_k": 2}})

    # the registered model is the best of the comparison; it predicts as its local file does
    comparison = pd.read_csv(root / "data/08_reporting/classification_comparison.csv")
    best = comparison.sort_values("accuracy", ascending=False, kind="stable")["model"].iloc[0]
    blob = ClassifierDataset(str(root / f"data/06_models/classifiers/{best}.pt")).load()
    local = Predictor.from_blob(blob, ssl_encoder=load_frame_encoder(root / "data/04_feature/ssl_encoder.pt"))
    table = pd.read_csv(root / "data/07_model_output/inference/predictions.csv")
    expected = local.predict(video, start=0.1, top_k=2)
    assert list(table["rank"]) == [1, 2] and set(table["model"]) == {best} and set(table["video"]) == {video}
    assert list(table["label"]) == [label for label, _ in expected]
    assert list(table["probability"]) == pytest.approx([p for _, p in expected], abs=1e-5)

    # windows over the range, merged into segments that tile it; CSV and JSON agree; the overlay
    # has every frame of the video
    windows = pd.read_csv(root / "data/07_model_output/inference/windows.csv")
    assert windows["start"].min() == pytest.approx(0.1, abs=0.05)
    assert windows.filter(like="p_").sum(axis=1).to_numpy() == pytest.approx(1.0, abs=1e-5)
    segments = pd.read_csv(root / "data/08_reporting/inference/timeline.csv")
    assert segments["end"].iloc[:-1].to_numpy() == pytest.approx(segments["start"].iloc[1:].to_numpy())
    assert set(segments["label"]) <= set(local.classes)
    records = json.loads((root / "data/08_reporting/inference/timeline.json").read_text())
    assert [r["label"] for r in records] == list(segments["label"])
    assert (root / "data/08_reporting/inference/timeline.png").stat().st_size > 0
    assert probe(root / "data/08_reporting/inference/overlay.mp4").frames == probe(video).frames

    # the run's MLflow run holds the parameters and the outputs
    db = sqlite3.connect(root / "mlflow.db")
    (run,) = db.execute("select run_uuid from runs order by start_time desc limit 1").fetchone()
    params = dict(db.execute("select key, value from params where run_uuid = ?", (run,)).fetchall())
    assert params["inference.video"] == video and params["inference.top_k"] == "2"
    uri = f"sqlite:///{(root / 'mlflow.db').resolve()}"
    artifacts = {Path(a.path).name for a in MlflowClient(tracking_uri=uri).list_artifacts(run, "inference")}
    assert {"predictions.csv", "windows.csv", "timeline.csv", "timeline.json", "timeline.png", "overlay.mp4"} <= artifacts


def test_without_a_video_the_error_names_the_parameter(default_project: Path, tmp_path: Path, monkeypatch):
    root = copy_project(default_project, tmp_path / "project")
    monkeypatch.chdir(root)
    with pytest.raises(Exception, match=r"inference\.video is not set") as err:
        run_pipelines(root, ["inference"])
    assert "--pipeline inference" in str(err.value)
