"""Ingestion through Kedro on user folders: broken files are reported, not fatal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actionlab.video import write_video

from .conftest import make_project, run_pipelines

pytestmark = pytest.mark.slow


def _write_folder(root: Path) -> None:
    rng = np.random.default_rng(0)
    for label in ("wave", "clap"):
        for i in range(3):
            write_video(root / label / f"{label}{i}.mp4", rng.integers(0, 255, (8, 48, 64, 3), dtype=np.uint8), fps=10)
    (root / "wave" / "zero.mp4").write_bytes(b"")
    (root / "clap" / "text.avi").write_text("not a video")
    good = (root / "wave" / "wave0.mp4").read_bytes()
    (root / "clap" / "cut.mp4").write_bytes(good[: len(good) // 3])


def test_mixed_folder_ingests_the_good_and_lists_the_broken(tmp_path, monkeypatch):
    project = make_project(tmp_path / "project")
    monkeypatch.chdir(project)
    videos = tmp_path / "videos"
    _write_folder(videos)
    params = {"ingestion": {"source": "folder", "root": str(videos), "progress": False}, "preprocessing": {"size": 32}}
    run_pipelines(project, ["ingestion", "preprocessing"], params)
    manifest = pd.read_parquet(project / "data/02_intermediate/manifest.parquet")
    assert (manifest["status"] == "accepted").sum() == 6
    rejected = pd.read_csv(project / "data/08_reporting/rejected_videos.csv")
    assert sorted(Path(p).name for p in rejected["path"]) == ["cut.mp4", "text.avi", "zero.mp4"]
    assert rejected["error"].str.len().gt(10).all()
    index = pd.read_parquet(project / "data/03_primary/clip_index.parquet")
    assert len(index) == 6 and (index["clip_frames"] == 4).all()


def test_a_folder_of_only_broken_files_fails_with_a_clear_message(tmp_path, monkeypatch):
    project = make_project(tmp_path / "project")
    monkeypatch.chdir(project)
    videos = tmp_path / "videos"
    (videos / "wave").mkdir(parents=True)
    (videos / "wave" / "a.mp4").write_bytes(b"")
    (videos / "wave" / "b.mp4").write_text("nope")
    with pytest.raises(Exception, match="Every one of the 2 videos"):
        run_pipelines(project, ["ingestion"], {"ingestion": {"source": "folder", "root": str(videos)}})
