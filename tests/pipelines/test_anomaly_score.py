"""`actionlab score` end to end on a copy of the default project after the anomaly pipeline ran:
the scorer files carry what a new video needs, the score of a raw video matches the scorer on the
pipeline's own embedding of it, the verdict and timeline files, clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from actionlab.__main__ import score
from actionlab.anomaly.scorers import scorer_from_blob

from .conftest import REPO, copy_project, run_pipelines
from .test_anomaly import FAST, _replicate

pytestmark = pytest.mark.slow
MODELS = ["knn", "ocsvm"]  # fast ones (mahalanobis inverts a D x D covariance per target)
TARGET = "squat"


@pytest.fixture(autouse=True)
def no_tracking_store_from_elsewhere(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def scored_project(default_project: Path, tmp_path_factory) -> Path:
    root = copy_project(default_project, tmp_path_factory.mktemp("anomaly_score") / "project")
    _replicate(root)
    run_pipelines(root, ["anomaly"], {"anomaly": {**FAST["anomaly"], "models": MODELS, "augment": {"copies": 0}}})
    return root


def _video(root: Path) -> tuple[Path, np.ndarray]:
    """A correct test clip of the target in the default project (its raw video) and the
    embedding the default pipeline made of it."""
    clips = pd.read_parquet(root / "data/04_feature/clip_embeddings.parquet")
    manifest = pd.read_parquet(root / "data/02_intermediate/manifest.parquet").set_index("video_id")
    row = clips[(clips["label"] == TARGET) & (clips["split"] == "test")].iloc[0]
    path = Path(manifest.loc[row["video_id"], "path"])
    return (path if path.is_absolute() else root / path), np.asarray(row["embedding"], np.float64)


def _best_model(root: Path) -> str:
    report = pd.read_csv(root / "data/08_reporting/anomaly_report.csv")
    own = report[report["target"] == TARGET]
    comparison = "incorrect" if (own["comparison"] == "incorrect").any() else "all_others"
    own = own[own["comparison"] == comparison].reset_index(drop=True)
    return str(own.loc[own["roc_auc"].idxmax(), "model"])


def test_scorer_files_carry_the_lineage_and_the_clip_length(scored_project: Path):
    manifest = pd.read_parquet(scored_project / "data/02_intermediate/manifest.parquet")
    for path in (scored_project / "data/06_models/anomaly").glob("*.pt"):
        blob = torch.load(path, weights_only=True)
        params = blob["lineage"]["params"]
        assert params["embedding.encoder"] == "ssl" and params["ssl_encoder.digest"]
        assert params["preprocessing.size"] == 64
        assert blob["clip_seconds"] == pytest.approx(manifest["duration"].median())  # all clips equally long


def test_score_prints_the_verdict_and_writes_the_timeline(scored_project: Path, default_project: Path, monkeypatch):
    monkeypatch.chdir(scored_project)
    video, embedding = _video(default_project)  # the scored copy's embeddings carry the replicas' noise
    model = _best_model(scored_project)
    result = CliRunner().invoke(score, [str(video), "--target", TARGET, "--timeline"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.output.splitlines() if line.startswith("  ") and line.split())
    assert f"target {TARGET}, model {model}:" in result.output
    blob = torch.load(scored_project / f"data/06_models/anomaly/{TARGET}__{model}.pt", weights_only=True)
    expected = scorer_from_blob(blob).score(embedding[None])[0]  # the pipeline's embedding of this video
    assert float(lines["score"]) == pytest.approx(expected, rel=1e-3)
    assert lines["threshold"].startswith(f"{blob['threshold']:.6g} (percentile 90")
    assert lines["verdict"] == ("anomalous" if float(lines["score"]) >= blob["threshold"] else "normal")

    folder = scored_project / "data/08_reporting/anomaly_score" / video.stem
    windows = pd.read_csv(folder / f"{TARGET}__{model}.csv")
    assert list(windows.columns) == ["start", "end", "score", "flagged"] and len(windows) >= 1
    assert (windows["flagged"] == (windows["score"] >= blob["threshold"])).all()
    record = json.loads((folder / f"{TARGET}__{model}.json").read_text())
    assert (record["target"], record["model"], record["threshold"]) == (TARGET, model, blob["threshold"])
    runs = int((np.diff(np.r_[0, windows["flagged"].astype(int)]) == 1).sum())  # runs of flagged windows
    assert len(record["stretches"]) == runs
    assert (folder / f"{TARGET}__{model}.png").stat().st_size > 0
    assert f"timeline: {len(windows)} window" in result.output


def test_a_named_model_and_range_and_an_out_folder(scored_project: Path, monkeypatch, tmp_path: Path):
    monkeypatch.chdir(scored_project)
    video, _ = _video(scored_project)
    args = [str(video), "--target", TARGET, "--model", "knn", "--start", "0.2", "--duration", "0.6",
            "--timeline", "--window", "0.3", "--stride", "0.3", "--out", str(tmp_path)]  # fmt: skip
    result = CliRunner().invoke(score, args)
    assert result.exit_code == 0, result.output
    assert "[0.20 s - 0.80 s], target squat, model knn:" in result.output
    windows = pd.read_csv(tmp_path / f"{TARGET}__knn.csv")
    assert windows["start"].iloc[0] == pytest.approx(0.2) and windows["end"].iloc[-1] == pytest.approx(0.8)


def test_unknown_target_bad_video_and_no_scorers_are_clear(scored_project: Path, monkeypatch, tmp_path: Path):
    monkeypatch.chdir(scored_project)
    video, _ = _video(scored_project)
    labels = sorted(pd.read_parquet(scored_project / "data/04_feature/clip_embeddings.parquet")["label"].unique())
    result = CliRunner().invoke(score, [str(video), "--target", "juggle"])
    assert result.exit_code == 1
    assert f"no anomaly scorer for target 'juggle'; trained targets: {', '.join(labels)}" in result.output
    assert "kedro run --pipeline anomaly" in result.output
    result = CliRunner().invoke(score, [str(tmp_path / "nope.mp4"), "--target", TARGET])
    assert result.exit_code == 1 and "no such file" in result.output

    shutil.copytree(REPO / "conf" / "base", tmp_path / "fresh" / "conf" / "base")
    (tmp_path / "fresh" / "conf" / "local").mkdir()
    monkeypatch.chdir(tmp_path / "fresh")
    result = CliRunner().invoke(score, [str(video), "--target", TARGET])
    assert result.exit_code == 1 and "no anomaly scorers" in result.output and "kedro run --pipeline anomaly" in result.output
