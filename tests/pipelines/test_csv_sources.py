"""The labels_csv and kinetics_csv sources through Kedro, bad rows included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actionlab.video import write_video

from .conftest import make_project, run_pipelines

pytestmark = pytest.mark.slow


def _video(path: Path, seed: int, frames: int = 10, fps: float = 10.0) -> Path:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    return write_video(path, np.stack([np.roll(base, 2 * i, axis=1) for i in range(frames)]), fps=fps)


def _labels_csv(root: Path, people: list[str]) -> Path:
    rows = ["path,label,person"]
    for p, person in enumerate(people):
        for a, action in enumerate(("wave", "clap")):
            if not (root / f"{person}_{action}.mp4").exists():  # videos already there stay as they are
                _video(root / f"{person}_{action}.mp4", seed=100 * p + a)
            rows.append(f"{person}_{action}.mp4,{action},{person}")
    rows.append("missing.mp4,wave,P1")  # no such file
    rows.append(f"{people[0]}_wave.mp4,,{people[0]}")  # no label
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root / "labels.csv"


def _ingest(project: Path, csv: Path, **extra) -> pd.DataFrame:
    params = {"ingestion": {"source": "labels_csv", "root": str(csv), "group_column": "person", "progress": False, **extra}}
    run_pipelines(project, ["ingestion"], params)
    return pd.read_parquet(project / "data/02_intermediate/manifest.parquet")


def test_labels_csv_rows_are_checked_and_splits_survive_new_videos(tmp_path, monkeypatch):
    project = make_project(tmp_path / "project")
    monkeypatch.chdir(project)
    videos = tmp_path / "videos"
    videos.mkdir()
    csv = _labels_csv(videos, [f"P{i}" for i in range(1, 6)])
    manifest = _ingest(project, csv)
    accepted = manifest[manifest["status"] == "accepted"]
    assert len(accepted) == 10
    assert (accepted.groupby("person")["split"].nunique() == 1).all()  # no person crosses splits
    rejected = pd.read_csv(project / "data/08_reporting/rejected_videos.csv")
    errors = " | ".join(rejected["error"])
    assert "line 12" in errors and "line 13" in errors and "label" in errors
    before = accepted.set_index("video_id")["split"]
    # two more people, and one more video of a known person
    more = _labels_csv(videos, [f"P{i}" for i in range(1, 8)])
    _video(videos / "P1_extra.mp4", seed=999)
    more.write_text(more.read_text() + "P1_extra.mp4,wave,P1\n")
    again = _ingest(project, more)
    after = again[again["status"] == "accepted"].set_index("video_id")["split"]
    assert len(after) == 15
    assert after[before.index].equals(before)  # no existing video moved
    extra = again[again["path"].str.endswith("P1_extra.mp4")].iloc[0]
    assert extra["split"] == before[accepted[accepted["person"] == "P1"]["video_id"]].iloc[0]


def test_a_group_column_with_a_gap_stops_ingestion_naming_the_rows(tmp_path, monkeypatch):
    project = make_project(tmp_path / "project")
    monkeypatch.chdir(project)
    videos = tmp_path / "videos"
    videos.mkdir()
    _video(videos / "a.mp4", 1)
    _video(videos / "b.mp4", 2)
    (videos / "labels.csv").write_text("path,label,person\na.mp4,wave,P1\nb.mp4,clap,\n")
    with pytest.raises(Exception, match=r"(?s)'person'.*lines? 3"):
        _ingest(project, videos / "labels.csv")


def test_kinetics_csv_cuts_clips_maps_split_aliases_and_rejects_bad_rows(tmp_path, monkeypatch):
    project = make_project(tmp_path / "project")
    monkeypatch.chdir(project)
    videos = tmp_path / "kinetics"
    videos.mkdir()
    _video(videos / "abcdefghijk.mp4", 1, frames=40)  # 4 s at 10 fps
    _video(videos / "bcdefghijkl.mp4", 2, frames=40)
    (videos / "train.csv").write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "wave,abcdefghijk,0,2,train\n"
        "wave,abcdefghijk,2,4,validate\n"
        "clap,bcdefghijkl,0,2,train\n"
        "clap,bcdefghijkl,,3,train\n"  # line 5: one time missing
        "clap,bcdefghijkl,1,2,holdout\n"  # line 6: unknown split
    )
    params = {
        "ingestion": {"source": "kinetics_csv", "root": str(videos / "train.csv"), "progress": False},
        "preprocessing": {"size": 32, "strategy": "all", "max_frames": None},
    }
    run_pipelines(project, ["ingestion", "preprocessing"], params)
    manifest = pd.read_parquet(project / "data/02_intermediate/manifest.parquet")
    accepted = manifest[manifest["status"] == "accepted"]
    assert accepted["split"].tolist() == ["train", "val", "train"]
    assert accepted["video_id"].is_unique
    errors = manifest.loc[manifest["status"] == "rejected", "error"].tolist()
    assert len(errors) == 2 and "line 5" in errors[0] and "line 6" in errors[1] and "holdout" in errors[1]
    index = pd.read_parquet(project / "data/03_primary/clip_index.parquet")
    assert index["clip_frames"].between(18, 21).all()  # 2 s of a 10 fps video each
