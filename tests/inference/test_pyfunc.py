"""The classifier as an MLflow pyfunc model: logged, loaded back, and served over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch

from actionlab.datasets import ClassifierDataset
from actionlab.inference.predictor import Predictor
from actionlab.inference.pyfunc import register_best


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch):
    """A fresh MLflow store for the test (file artifacts under tmp_path)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("serve-test")
    yield uri
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


@pytest.fixture
def logged(tracking, blob, tmp_path: Path) -> str:
    """The classifier saved through ClassifierDataset in an active run (as the pipeline does), and
    registered as the best model of a comparison; returns its registered URI."""
    dataset = ClassifierDataset(str(tmp_path / "classifiers" / "frame_avg.pt"), mlflow_model={})
    with mlflow.start_run():
        dataset.save(blob)
        version = register_best(pd.DataFrame({"model": ["linear", "frame_avg"], "accuracy": [0.5, 0.9]}), "test-classifier")
    assert version is not None and version.name == "test-classifier"
    assert torch.load(tmp_path / "classifiers" / "frame_avg.pt", weights_only=True)["classes"] == blob["classes"]
    return f"models:/test-classifier/{version.version}"


def test_loaded_model_predicts_as_the_predictor(logged: str, blob, videos):
    model = mlflow.pyfunc.load_model(logged)
    paths = list(videos["path"].iloc[[0, -1]])
    request = pd.DataFrame({"path": paths, "start": [None, 0.2]})
    out = model.predict(request, params={"top_k": 2})
    assert list(out.columns) == ["row", "path", "rank", "label", "probability"]
    predictor = Predictor.from_blob(blob)
    for row, (path, start) in enumerate([(paths[0], None), (paths[1], 0.2)]):
        own = out[out["row"] == row]
        expected = predictor.predict(path, start=start, top_k=2)
        assert list(own["label"]) == [label for label, _ in expected]
        assert list(own["probability"]) == pytest.approx([p for _, p in expected], abs=1e-6)
    assert model.metadata.signature.inputs.input_names()[0] == "path"


def test_logged_clip_model_loads_back_and_predicts_as_the_predictor(tracking, clip_model, videos, tmp_path: Path):
    blob = clip_model.blob
    dataset = ClassifierDataset(str(tmp_path / "classifiers" / "cnn_lstm.pt"), mlflow_model={})
    with mlflow.start_run():
        dataset.save(blob)
        version = register_best(pd.DataFrame({"model": ["cnn_lstm"], "accuracy": [1.0]}), "test-clip-classifier")
    assert version is not None
    model = mlflow.pyfunc.load_model(f"models:/test-clip-classifier/{version.version}")
    assert model.metadata.metadata["model"] == "cnn_lstm"
    path = videos["path"].iloc[1]
    out = model.predict(pd.DataFrame({"path": [path], "start": [0.2]}), params={"top_k": 2})
    expected = Predictor.from_blob(blob).predict(path, start=0.2, top_k=2)
    assert list(out["label"]) == [label for label, _ in expected]
    assert list(out["probability"]) == pytest.approx([p for _, p in expected], abs=1e-6)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(server: subprocess.Popen) -> None:
    """Stop the server's process group (mlflow starts uvicorn in a child process)."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            pass
        try:
            server.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.mark.slow
def test_served_model_answers_a_json_request(logged: str, tracking: str, blob, videos, tmp_path: Path):
    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)  # uvicorn, which mlflow starts by name, lives next to python
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}  # fmt: skip
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", logged, "--env-manager", "local", "-p", str(port), "-h", "127.0.0.1"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the scoring server did not start in 120 s"
            time.sleep(0.5)
        path = videos["path"].iloc[0]
        body = json.dumps({"dataframe_records": [{"path": path}], "params": {"top_k": 1}}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            answer = json.loads(r.read())["predictions"]
        (label, probability), = Predictor.from_blob(blob).predict(path, top_k=1)
        assert len(answer) == 1 and answer[0]["label"] == label and answer[0]["path"] == path
        assert answer[0]["probability"] == pytest.approx(probability, abs=1e-6)
    finally:
        _stop(server)
        log.close()
