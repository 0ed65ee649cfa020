"""What a user finds in MLflow after `kedro run`: each run's lineage, its name, the SSL model."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
from kedro_mlflow.framework.hooks.mlflow_hook import mlflow_hook
from mlflow.tracking import MlflowClient

from actionlab.lineage import frame_digest
from actionlab.models import load_frame_encoder

from .conftest import FAST_PARAMS, copy_project, run_pipelines

pytestmark = pytest.mark.slow


def _uri(project: Path) -> str:
    return f"sqlite:///{(project / 'mlflow.db').resolve()}"


def _client(project: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=_uri(project), registry_uri=_uri(project))


def _runs(client: MlflowClient) -> list:
    experiment = client.get_experiment_by_name("actionlab")
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])


def _git(project: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(command, cwd=project, check=True, capture_output=True, text=True).stdout.strip()


def test_a_clustering_run_records_what_its_embeddings_were_made_from(
    default_project: Path, tmp_path: Path, monkeypatch, caplog
):
    project = copy_project(default_project, tmp_path / "project")
    monkeypatch.chdir(project)
    _git(project, "init", "-q")
    _git(project, "add", "conf", "pyproject.toml")
    _git(project, "commit", "-qm", "conf")
    # gmm: a changed parameter for the run name; ssl_training.splits differs from the splits
    # the encoder behind the embeddings was trained on: a warning, not a failed run
    changed = {"clustering": {"algorithm": "gmm"}, "ssl_training": {"splits": ["train", "val"]}}
    with caplog.at_level(logging.WARNING, logger="actionlab.hooks"):
        run_pipelines(project, ["clustering"], changed)
    run = _runs(_client(project))[-1]
    params = run.data.params
    # the conf/base values are motion, 128, 40 frames, 5 epochs: these are the ones the default
    # project's embeddings were made with (FAST_PARAMS), read from the lineage they carry
    assert params["embedding.encoder"] == "ssl"
    assert params["embedding.batch_size"] == str(FAST_PARAMS["embedding"]["batch_size"])
    assert params["preprocessing.size"] == str(FAST_PARAMS["preprocessing"]["size"])
    assert params["ingestion.synthetic.num_frames"] == str(FAST_PARAMS["ingestion"]["synthetic"]["num_frames"])
    assert params["ssl_training.epochs"] == str(FAST_PARAMS["ssl_training"]["epochs"])
    assert len(params["ssl_encoder.digest"]) == 16
    # this run's own parameters stay its own
    assert params["clustering.algorithm"] == "gmm"
    assert params["ssl_training.splits"] == "['train', 'val']"
    assert sum("ssl_training.splits=['train']" in r.getMessage() for r in caplog.records) == 1
    manifest = pd.read_parquet(project / "data/02_intermediate/manifest.parquet")
    inputs = {d.dataset.name: d.dataset for d in run.inputs.dataset_inputs}
    assert inputs["manifest"].digest == frame_digest(manifest)
    assert "manifest.parquet" in inputs["manifest"].source
    assert run.data.tags["mlflow.source.git.commit"] == _git(project, "rev-parse", "HEAD")
    assert run.data.tags["git.dirty"] == "false"
    assert run.info.run_name.startswith("clustering · ")
    assert "clustering.algorithm=gmm" in run.info.run_name


def test_the_default_run_is_named_and_holds_its_manifest(default_project: Path):
    (run,) = _runs(_client(default_project))
    assert run.info.run_name.startswith("default · ")  # FAST_PARAMS were given on the "command line"
    manifest = pd.read_parquet(default_project / "data/02_intermediate/manifest.parquet")
    assert [d.dataset.digest for d in run.inputs.dataset_inputs] == [frame_digest(manifest)]
    assert "mlflow.source.git.commit" not in run.data.tags  # the test project is no repository


def test_the_ssl_encoder_is_a_registered_model_that_gives_the_files_features(default_project: Path):
    client = _client(default_project)
    (version,) = client.search_model_versions("name='actionlab-ssl-encoder'")
    (run,) = _runs(client)
    assert version.run_id == run.info.run_id
    logged = client.get_logged_model(version.source.removeprefix("models:/"))
    assert logged.params["ssl_training.epochs"] == str(FAST_PARAMS["ssl_training"]["epochs"])
    assert logged.params["preprocessing.size"] == str(FAST_PARAMS["preprocessing"]["size"])
    uri = f"models:/actionlab-ssl-encoder/{version.version}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(_uri(default_project))
    try:
        model = mlflow.pytorch.load_model(uri)  # an exported graph: no actionlab code in it
        config = mlflow.models.get_model_info(uri).metadata["config"]
    finally:
        mlflow.set_tracking_uri(previous)
    local = load_frame_encoder(default_project / "data/04_feature/ssl_encoder.pt")
    assert config == local.config
    clip = np.random.default_rng(0).integers(0, 255, (6, 64, 64, 3), dtype=np.uint8)
    frames = local.prepare(clip)
    with torch.inference_mode():
        expected = local.features(frames)
        assert expected.shape == (6, local.dim) and expected.abs().sum() > 0
        torch.testing.assert_close(model(frames), expected, rtol=0, atol=1e-6)


def test_no_run_and_no_failure_when_tracking_is_off(default_project: Path, tmp_path: Path, monkeypatch):
    project = copy_project(default_project, tmp_path / "project")
    monkeypatch.chdir(project)
    local = project / "conf/local/mlflow.yml"
    local.write_text(local.read_text().replace("pipelines: []", "pipelines: [clustering]"))
    before = len(_runs(_client(project)))
    # kedro-mlflow's hook is one object per process and keeps the last run's id when tracking
    # is off (it re-enters that run at every node): a second session in one process needs this
    monkeypatch.setattr(mlflow_hook, "run_id", None)
    run_pipelines(project, ["clustering"])
    assert len(_runs(_client(project))) == before
    assert (project / "data/07_model_output/cluster_assignments.parquet").is_file()
