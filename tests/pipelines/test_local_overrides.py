"""A conf/local parameters file overrides only the keys it names (the README's advice for one
data set's settings), not the whole group."""

from __future__ import annotations

import mlflow
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from .conftest import make_project


def test_a_partial_local_parameters_file_keeps_the_other_base_keys(tmp_path, monkeypatch):
    project = make_project(tmp_path / "project")
    monkeypatch.chdir(project)
    (project / "conf/local/parameters_ingestion.yml").write_text(
        "ingestion:\n  truncated: reject\n  split: {seed: 7}\n"
    )
    bootstrap_project(project)
    try:
        with KedroSession.create(project_path=project) as session:
            params = session.load_context().params["ingestion"]
    finally:
        while mlflow.active_run():
            mlflow.end_run()
    assert params["truncated"] == "reject" and params["split"]["seed"] == 7
    # untouched keys, nested ones included, keep their conf/base values
    assert params["source"] == "synthetic" and params["root"] == "data/01_raw/synthetic"
    assert params["split"]["fractions"] == {"train": 0.6, "val": 0.2, "test": 0.2}
