from pathlib import Path

import numpy as np
import pytest

from actionlab.manifest import (
    ACCEPTED,
    REJECTED,
    probe_sources,
    read_folder,
    read_kinetics_csv,
    read_labels_csv,
)
from actionlab.video import write_video


def _video(path: Path, frames: int = 6, size: int = 32, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    return write_video(path, rng.integers(0, 255, (frames, size, size, 3), dtype=np.uint8), fps=10)


@pytest.fixture
def mixed_folder(tmp_path):
    root = tmp_path / "videos"
    _video(root / "wave" / "good1.mp4", seed=1)
    _video(root / "clap" / "good2.mp4", seed=2)
    (root / "clap" / "empty.mp4").write_bytes(b"")
    (root / "clap" / "notes.mp4").write_text("this is not a video")
    good = (root / "wave" / "good1.mp4").read_bytes()
    (root / "wave" / "truncated.mp4").write_bytes(good[: len(good) // 2])
    (root / "wave" / "readme.txt").write_text("ignored: not a video extension")
    return root


def test_folder_source_lists_videos_with_their_folder_label(mixed_folder):
    table = read_folder(mixed_folder)
    assert sorted(Path(p).name for p in table["path"]) == ["empty.mp4", "good1.mp4", "good2.mp4", "notes.mp4", "truncated.mp4"]
    assert dict(zip(table["path"].map(lambda p: Path(p).name), table["label"], strict=True))["good2.mp4"] == "clap"


def test_probe_keeps_good_videos_and_rejects_broken_ones_with_reasons(mixed_folder):
    manifest = probe_sources(read_folder(mixed_folder), progress=False)
    status = dict(zip(manifest["path"].map(lambda p: Path(p).name), manifest["status"], strict=True))
    # the cut file's first frames decode: accepted with a warning (ingestion.truncated=accept)
    assert status == {"good1.mp4": ACCEPTED, "good2.mp4": ACCEPTED, "empty.mp4": REJECTED, "notes.mp4": REJECTED, "truncated.mp4": ACCEPTED}
    rejected = manifest[manifest["status"] == REJECTED]
    assert all(str(mixed_folder) in e for e in rejected["error"]), rejected["error"].tolist()
    cut = manifest[manifest["path"].str.endswith("truncated.mp4")].iloc[0]
    assert "truncated.mp4" in cut["warnings"] and 0 < cut["frames"] < 6
    strict = probe_sources(read_folder(mixed_folder), truncated="reject", progress=False)
    assert strict.set_index(strict["path"].map(lambda p: Path(p).name)).loc["truncated.mp4", "status"] == REJECTED
    good = manifest[manifest["status"] == ACCEPTED]
    good = good[good["warnings"] == ""]
    assert (good["frames"] == 6).all() and (good["width"] == 32).all()
    assert good["video_id"].str.len().eq(16).all() and good["video_id"].is_unique
    assert manifest["video_id"].is_unique


def test_video_id_is_a_content_hash(tmp_path):
    a = _video(tmp_path / "x" / "a.mp4", seed=5)
    b = tmp_path / "y" / "renamed.mp4"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes())
    table = read_folder(tmp_path)
    manifest = probe_sources(table, progress=False)
    assert manifest["status"].tolist() == [ACCEPTED, REJECTED]
    assert "duplicate" in manifest["error"].iloc[1]


def test_labels_csv_resolves_relative_paths_and_flags_missing_labels(tmp_path):
    _video(tmp_path / "clips" / "one.mp4")
    _video(tmp_path / "clips" / "two.mp4", seed=3)
    csv = tmp_path / "labels.csv"
    csv.write_text("path,label,group,frames\nclips/one.mp4,wave,P1,999\nclips/two.mp4,,P2,5\n")
    table = read_labels_csv(csv)
    assert Path(table["path"][0]).is_absolute() and table["group"].tolist() == ["P1", "P2"]
    manifest = probe_sources(table, progress=False)
    assert manifest["status"].tolist() == [ACCEPTED, REJECTED]
    assert manifest["frames"].tolist()[0] == 6  # the probe wins over a CSV column of the same name
    assert "missing label" in manifest["error"][1]


def test_kinetics_csv_is_resolved_by_youtube_id_and_cut_by_time(tmp_path):
    _video(tmp_path / "vids" / "abcdefghijk.mp4", frames=30)
    csv = tmp_path / "train.csv"
    csv.write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "juggling,abcdefghijk,1,2.5,train\n"
        "juggling,zzzzzzzzzzz,0,10,train\n"
        "juggling,abcdefghijk,2.9,2.92,val\n"
        "juggling,abcdefghijk,5,9,val\n"
    )
    manifest = probe_sources(read_kinetics_csv(csv, tmp_path / "vids"), progress=False)
    assert manifest["status"].tolist() == [ACCEPTED, REJECTED, REJECTED, REJECTED]
    assert manifest["frames"][0] == 15 and manifest["split"][0] == "train"
    assert "no local file for youtube_id zzzzzzzzzzz" in manifest["error"][1]
    assert "no frames in the time range" in manifest["error"][3]


def test_missing_root_names_the_parameter(tmp_path):
    with pytest.raises(FileNotFoundError, match="ingestion.root"):
        read_folder(tmp_path / "nope")
