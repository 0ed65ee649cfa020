"""Per-video stages through Kedro under every executor, and kill -9 then resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actionlab.synthetic import generate_dataset

from .conftest import make_project, run_pipelines

pytestmark = pytest.mark.slow
STAGES = ["ingestion", "preprocessing", "embedding"]


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    """A small built-in set written once, read through ``labels_csv`` by every project here."""
    root = tmp_path_factory.mktemp("videos")
    generate_dataset(root, clips_per_action=2, incorrect_per_action=0, num_actors=2, num_frames=24, size=64)
    return root


def _params(videos: Path, **runtime) -> dict:
    return {
        "ingestion": {"source": "labels_csv", "root": str(videos / "labels.csv"), "progress": False},
        "preprocessing": {"size": 48, "max_frames": 12},
        "embedding": {"encoder": "motion"},
        "runtime": {"progress": False, **runtime},
    }


def _embeddings(project: Path) -> pd.DataFrame:
    table = pd.read_parquet(project / "data/04_feature/clip_embeddings.parquet")
    return table.sort_values("video_id").reset_index(drop=True)


def _same_embeddings(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return a["feature_key"].tolist() == b["feature_key"].tolist() and np.array_equal(
        np.stack(a["embedding"].to_numpy()), np.stack(b["embedding"].to_numpy())
    )


@pytest.fixture(scope="module")
def reference(videos: Path, tmp_path_factory) -> pd.DataFrame:
    """Embeddings of an uninterrupted sequential run."""
    project = make_project(tmp_path_factory.mktemp("reference"))
    mp = pytest.MonkeyPatch()
    mp.chdir(project)
    try:
        run_pipelines(project, STAGES, _params(videos, executor="sequential"))
    finally:
        mp.undo()
    return _embeddings(project)


@pytest.mark.parametrize(
    "runtime",
    [{"executor": "processes", "workers": 2}, {"executor": "dask", "dask_address": "local", "workers": 2}],
    ids=["processes", "dask"],
)
def test_every_executor_gives_the_sequential_result(videos, reference, tmp_path, monkeypatch, runtime):
    project = make_project(tmp_path / "project")
    monkeypatch.chdir(project)
    run_pipelines(project, STAGES, _params(videos, **runtime))
    assert _same_embeddings(_embeddings(project), reference)
    assert len(reference) == 12


def _records(project: Path, stage: str) -> dict[str, int]:
    folder = project / "data" / stage / "_records"
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")} if folder.is_dir() else {}


def _kedro(project: Path, params: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kedro", "run", "--pipelines", ",".join(STAGES), "--params", params],
        cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
    )  # fmt: skip


@pytest.mark.parametrize("stage", ["03_primary/clips", "04_feature/frame_features"])
def test_kill_9_then_the_same_command_resumes(videos, reference, tmp_path, stage):
    """SIGKILL the whole run (driver and workers) once some items of ``stage`` are done; the
    same command again recomputes nothing finished, loads nothing corrupt and ends equal."""
    project = make_project(tmp_path / "project")
    params = (
        f"ingestion.source=labels_csv,ingestion.root={videos / 'labels.csv'},ingestion.progress=false,"
        "preprocessing.size=48,preprocessing.max_frames=12,embedding.encoder=motion,"
        "runtime.executor=processes,runtime.workers=2,runtime.progress=false"
    )
    run = _kedro(project, params)
    deadline = time.monotonic() + 300
    while len(_records(project, stage)) < 3 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    finished = _records(project, stage)
    assert 3 <= len(finished) < 12, f"the kill came too late or too early ({len(finished)} done)"
    again = _kedro(project, params)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err.decode()[-3000:]
    after = _records(project, stage)
    assert {k: after[k] for k in finished} == finished  # finished items were not recomputed
    leftovers = [p for p in (project / "data").rglob(".*.tmp")]
    assert leftovers == []
    assert _same_embeddings(_embeddings(project), reference)
