"""`actionlab predict`: top-k labels of a generated video, the timeline files, the overlay, bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from actionlab.__main__ import predict
from actionlab.inference.predictor import Predictor
from actionlab.video.probe import probe

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_tracking_store_from_elsewhere(monkeypatch):
    """MLflow keeps the last tracking URI it was given in MLFLOW_TRACKING_URI; a fresh
    `actionlab predict` process has only what the user set."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def _conf(root: Path) -> None:
    shutil.copytree(REPO / "conf" / "base", root / "conf" / "base")
    (root / "conf" / "local").mkdir()


@pytest.fixture
def project(tmp_path: Path, monkeypatch, blob) -> Path:
    """A project folder (the repository's conf/base, no MLflow store yet) with a kept model and
    the comparison that ranks it first."""
    _conf(tmp_path)
    models = tmp_path / "data/06_models/classifiers"
    models.mkdir(parents=True)
    torch.save(blob, models / "frame_avg.pt")
    (tmp_path / "data/08_reporting").mkdir(parents=True)
    pd.DataFrame({"model": ["linear", "frame_avg"], "accuracy": [0.5, 0.9]}).to_csv(
        tmp_path / "data/08_reporting/classification_comparison.csv", index=False
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _lines(output: str) -> list[tuple[str, float]]:
    rows = [line.split() for line in output.splitlines() if line.startswith("  ")]
    return [(label, float(p)) for label, p in rows]


def test_prints_the_top_k_of_the_best_local_model(project, blob, videos):
    path = videos["path"].iloc[-1]
    result = CliRunner().invoke(predict, [path, "--top-k", "2", "--start", "0.1"])
    assert result.exit_code == 0, result.output
    expected = Predictor.from_blob(blob).predict(path, start=0.1, top_k=2)
    assert _lines(result.output) == [(label, pytest.approx(p, abs=1e-3)) for label, p in expected]
    assert "(frame_avg)" in result.output


def test_timeline_and_overlay_files(project, videos, tmp_path: Path):
    path = videos["path"].iloc[0]
    out, overlay = tmp_path / "out", tmp_path / "overlay.mp4"
    result = CliRunner().invoke(predict, [path, "--model", "frame_avg", "--timeline", "--out", str(out), "--overlay", str(overlay)])
    assert result.exit_code == 0, result.output
    stem = Path(path).stem
    segments = pd.read_csv(out / f"{stem}_timeline.csv")
    assert list(segments.columns) == ["start", "end", "label", "confidence"]
    assert segments["start"].iloc[0] == 0 and segments["end"].iloc[-1] == pytest.approx(probe(path).duration, abs=0.06)
    assert json.loads((out / f"{stem}_timeline.json").read_text())
    assert (out / f"{stem}_timeline.png").stat().st_size > 0
    assert probe(overlay).frames == probe(path).frames


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["{missing}"], "no such file"),
        (["{video}", "--end", "99"], "--end=99"),
        (["{video}", "--end", "1", "--duration", "1"], "pass only one"),
        (["{video}", "--model", "cnn9"], "no such model"),
        (["{video}", "--model", "models:/nope/1"], "no MLflow tracking store yet"),
    ],
)
def test_bad_input_exits_with_one_message(project, videos, args, needle):
    values = {"missing": str(project / "gone.mp4"), "video": videos["path"].iloc[0]}
    result = CliRunner().invoke(predict, [a.format(**values) for a in args])
    assert result.exit_code == 1
    assert needle in result.output and "Traceback" not in result.output


def test_console_entry_dispatches_predict_and_keeps_kedro(project, videos):
    """`python -m actionlab predict` answers; anything else is still Kedro's run command."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {"PYTHONPATH": src, "KEDRO_DISABLE_TELEMETRY": "true", "PATH": str(Path(sys.executable).parent)}
    run = subprocess.run([sys.executable, "-m", "actionlab", "predict", videos["path"].iloc[0], "--top-k", "1"],
                         check=False, capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert len(_lines(run.stdout)) == 1
    kedro = subprocess.run([sys.executable, "-m", "actionlab", "--help"], check=False, capture_output=True, text=True, env=env, timeout=120)
    assert kedro.returncode == 0 and "--pipeline" in kedro.stdout
    export = subprocess.run([sys.executable, "-m", "actionlab", "export", "--help"],
                            check=False, capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert export.returncode == 0 and "ONNX" in export.stdout


def test_unknown_mlflow_model_in_a_tracking_store(project, videos, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'store.db'}")
    result = CliRunner().invoke(predict, [videos["path"].iloc[0], "--model", "models:/nope/1"])
    assert result.exit_code == 1 and "cannot load this MLflow model" in result.output


def test_defaults_come_from_the_project_parameters(project, blob, videos):
    """conf/local/parameters_inference.yml changes what `actionlab predict` does, as for kedro run."""
    path = videos["path"].iloc[1]
    (project / "conf/local/parameters_inference.yml").write_text("inference:\n  top_k: 1\n  start: 0.2\n")
    result = CliRunner().invoke(predict, [path])
    assert result.exit_code == 0, result.output
    expected = Predictor.from_blob(blob).predict(path, start=0.2, top_k=1)
    assert _lines(result.output) == [(label, pytest.approx(p, abs=1e-3)) for label, p in expected]
    (project / "conf/local/parameters_inference.yml").write_text("inference:\n  top_k: -2\n")
    bad = CliRunner().invoke(predict, [path])
    assert bad.exit_code == 1 and "inference.top_k = -2" in bad.output


def test_without_any_model_says_how_to_get_one(tmp_path: Path, monkeypatch, videos):
    _conf(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(predict, [videos["path"].iloc[0]])
    assert result.exit_code == 1 and "no trained classifier found" in result.output


def test_outside_a_project_names_the_fix(tmp_path: Path, monkeypatch, videos):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(predict, [videos["path"].iloc[0]])
    assert result.exit_code == 1 and "no Kedro project" in result.output and "project folder" in result.output
