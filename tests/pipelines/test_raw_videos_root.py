"""One place for the raw videos: parameter ``ingestion.root`` and the ``raw_videos`` dataset
follow the same setting, and a root changed for one of them only stops the run with the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from actionlab.datasets import RawVideosDataset
from actionlab.pipelines.ingestion.nodes import discover_videos

from .conftest import make_project

INGESTION = {"source": "folder", "video_extensions": [".mp4"], "group_column": "group"}


def _roots(project: Path, runtime_params: dict[str, Any]) -> tuple[str, str]:
    """(raw_videos dataset root, parameter ingestion.root) as a run in ``project`` sees them."""
    bootstrap_project(project)
    try:
        with KedroSession.create(project_path=project, runtime_params=runtime_params) as session:
            context = session.load_context()
            return context.catalog.load("raw_videos").root, context.params["ingestion"]["root"]
    finally:
        while mlflow.active_run():
            mlflow.end_run()


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    root = make_project(tmp_path / "project")
    monkeypatch.chdir(root)
    return root


@pytest.mark.slow
def test_the_default_root_is_one_setting(project):
    dataset_root, param_root = _roots(project, {})
    assert param_root == "data/01_raw/synthetic"
    assert Path(dataset_root) == (project / param_root).resolve()


@pytest.mark.slow
def test_params_on_the_command_line_move_both(project, tmp_path):
    # nested, as `kedro run --params ingestion.root=...` and the tests pass them
    videos = str(tmp_path / "videos")
    assert _roots(project, {"ingestion": {"root": videos}}) == (videos, videos)


@pytest.mark.slow
def test_a_local_globals_file_moves_both(project, tmp_path):
    videos = str(tmp_path / "mine")
    (project / "conf" / "local" / "globals.yml").write_text(f"ingestion:\n  root: {videos}\n")
    assert _roots(project, {}) == (videos, videos)


def _folder(root: Path) -> None:
    for label in ("wave", "clap"):
        (root / label).mkdir(parents=True)
        (root / label / f"{label}.mp4").write_bytes(b"\0")


def test_discover_videos_reads_the_dataset_root(tmp_path, monkeypatch):
    _folder(tmp_path / "videos")
    monkeypatch.chdir(tmp_path)
    handle = RawVideosDataset(path=str(tmp_path / "videos")).load()
    table = discover_videos(handle, {**INGESTION, "root": "videos"})  # relative = same place
    assert sorted(Path(p).name for p in table["path"]) == ["clap.mp4", "wave.mp4"]


def test_a_root_overridden_for_one_side_only_names_both_and_the_fix(tmp_path):
    _folder(tmp_path / "videos")
    handle = RawVideosDataset(path=str(tmp_path / "videos")).load()
    with pytest.raises(ValueError) as err:
        discover_videos(handle, {**INGESTION, "root": str(tmp_path / "other")})
    message = str(err.value)
    assert str(tmp_path / "videos") in message and str(tmp_path / "other") in message
    assert "--params" in message and "conf/local/globals.yml" in message
