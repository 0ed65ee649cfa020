"""A throw-away copy of the project (conf + pyproject) in which the tests run the real pipelines."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

REPO = Path(__file__).resolve().parents[2]

# small but real: 6 actions x (6 correct + 1 incorrect) clips, 24 frames of 64 px; one short SSL epoch
FAST_PARAMS: dict[str, Any] = {
    "ingestion": {"synthetic": {"clips_per_action": 6, "incorrect_per_action": 1, "num_actors": 3, "num_frames": 24, "size": 64}, "progress": False},
    "preprocessing": {"size": 64, "max_frames": 16},
    "ssl_training": {"epochs": 1, "batch_size": 32, "input_size": 32, "proj_dim": 64, "pred_hidden": 32, "frames_per_clip": 4},
    "embedding": {"batch_size": 16, "encoder": "ssl"},  # the SSL path end to end (the default is motion)
    "classification": {"progress": False, "train": {"epochs": 15}},
    "anomaly": {"progress": False, "train": {"epochs": 15, "patience": 5}},
}


def make_project(root: Path) -> Path:
    """conf/, pyproject.toml and an empty data/ under ``root``: a project Kedro can bootstrap."""
    shutil.copytree(REPO / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    # an absolute tracking URI per project: MLflow caches stores by URI, so two projects in one
    # test process sharing "sqlite:///mlflow.db" would log into the first one's database
    mlflow_conf = (REPO / "conf" / "base" / "mlflow.yml").read_text()
    uri = f"sqlite:///{(root / 'mlflow.db').resolve()}"
    (root / "conf" / "local" / "mlflow.yml").write_text(mlflow_conf.replace("sqlite:///mlflow.db", uri))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copy(REPO / ".telemetry", root / ".telemetry")
    (root / "src").mkdir()
    (root / "data").mkdir()
    return root


def copy_project(source: Path, root: Path) -> Path:
    """A copy of a project that has run (its data and MLflow database), so a test can change it
    without touching the shared one."""
    shutil.copytree(source, root)
    local = root / "conf" / "local" / "mlflow.yml"
    local.write_text(local.read_text().replace(str(source.resolve()), str(root.resolve())))
    return root


def run_pipelines(root: Path, names: list[str], params: dict[str, Any] | None = None) -> None:
    """Run pipelines by name in the project at ``root`` through a KedroSession (hooks, MLflow)."""
    bootstrap_project(root)
    try:
        with KedroSession.create(project_path=root, runtime_params=params or {}) as session:
            session.run(pipeline_names=names)
    finally:
        # kedro-mlflow re-enters its run at every node and closes it once: in one process (unlike
        # separate `kedro run`s) the next session would otherwise log into the same run
        while mlflow.active_run():
            mlflow.end_run()


@pytest.fixture(scope="session")
def default_project(tmp_path_factory) -> Iterator[Path]:
    """A project that has run the whole default pipeline once on small synthetic data."""
    root = make_project(tmp_path_factory.mktemp("actionlab"))
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    run_pipelines(root, ["__default__"], FAST_PARAMS)
    yield root
    mp.undo()
