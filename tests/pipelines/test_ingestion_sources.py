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
    # the cut file's first frames decode: accepted with a warning (ingestion.truncated=accept)
    assert (manifest["status"] == "accepted").sum() == 7
    cut = manifest.set_index(manifest["path"].map(lambda p: Path(p).name)).loc["cut.mp4"]
    assert cut["status"] == "accepted" and "cut.mp4" in cut["warnings"]
    rejected = pd.read_csv(project / "data/08_reporting/rejected_videos.csv")
    assert sorted(Path(p).name for p in rejected["path"]) == ["text.avi", "zero.mp4"]
    assert rejected["error"].str.len().gt(10).all()
    index = pd.read_parquet(project / "data/03_primary/clip_index.parquet")
    names = index["path"].map(lambda p: Path(p).name)
    assert len(index) == 7 and (index.loc[names != "cut.mp4", "clip_frames"] == 4).all()
    assert 1 <= index.loc[names == "cut.mp4", "clip_frames"].item() < 4
    report = pd.read_csv(project / "data/08_reporting/preprocessing_report.csv")
    assert report["path"].map(lambda p: Path(p).name).tolist() == ["cut.mp4"]


def test_a_folder_of_only_broken_files_fails_with_a_clear_message(tmp_path, monkeypatch):
    project = make_project(tmp_path / "project")
    monkeypatch.chdir(project)
    videos = tmp_path / "videos"
    (videos / "wave").mkdir(parents=True)
    (videos / "wave" / "a.mp4").write_bytes(b"")
    (videos / "wave" / "b.mp4").write_text("nope")
    with pytest.raises(Exception, match=r"every one of the 2 items failed(.|\n)*a\.mp4"):
        run_pipelines(project, ["ingestion"], {"ingestion": {"source": "folder", "root": str(videos)}})
