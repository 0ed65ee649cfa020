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


def test_a_flat_folder_is_one_label_named_after_it(tmp_path):
    root = tmp_path / "street"
    _video(root / "a.mp4")
    _video(root / "b.mp4", seed=3)
    (root / "notes.txt").write_text("not a video")
    table = read_folder(root)
    assert table["label"].tolist() == ["street", "street"]
    assert [p.rsplit("/", 1)[-1] for p in table["path"]] == ["a.mp4", "b.mp4"]
    _video(root / "wave" / "c.mp4", seed=4)  # a sub-folder of videos: the per-label layout wins
    assert read_folder(root)["label"].tolist() == ["wave"]
    with pytest.raises(FileNotFoundError, match="or videos directly in"):
        read_folder(_empty(tmp_path))


def _empty(tmp_path):
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


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


def _touch(path: Path) -> Path:
    """A stand-in video: the sources only check that a file exists (probing decodes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00")
    return path


def test_labels_csv_rejects_bad_rows_with_their_line_number(tmp_path):
    for name in ("a", "b", "c", "d", "e", "f"):
        _touch(tmp_path / "clips" / f"{name}.mp4")
    csv = tmp_path / "labels.csv"
    csv.write_text(
        "path,label,split,time_start,time_end\n"  # line 1
        "clips/a.mp4,wave,train,,\n"  # 2: good, whole video
        "\n"  # 3: blank, skipped
        "clips/b.mp4,,val,,\n"  # 4: no label
        ",wave,test,,\n"  # 5: no path
        "clips/missing.mp4,wave,,,\n"  # 6: no file
        "clips/c.mp4,clap,holdout,,\n"  # 7: unknown split
        "clips/d.mp4,clap, Validate ,1,0.5\n"  # 8: end before start
        "clips/e.mp4,clap,dev,abc,2\n"  # 9: not a number
        '"clips/f.mp4",clap,Testing,0.5,2\n'  # 10: good, cut
    )
    table = read_labels_csv(csv)
    errors = table["error"].tolist()
    assert errors[0] == "" and errors[-1] == ""
    assert errors[1] == "labels.csv line 4: missing label; give the row a label"
    assert errors[2].startswith("labels.csv line 5: missing path")
    assert errors[3].startswith("labels.csv line 6: file not found") and "missing.mp4" in errors[3]
    assert errors[4].startswith("labels.csv line 7: unknown split 'holdout'; use one of train, val, test")
    assert errors[5] == "labels.csv line 8: time_end 0.5 is not after time_start 1; check the annotation"
    assert errors[6].startswith("labels.csv line 9: time_start 'abc' is not a number of seconds")
    assert table["split"].tolist() == ["train", "val", "test", "", "", "val", "val", "test"]
    assert np.isnan(table["time_start"][0]) and table["time_start"].iloc[-1] == 0.5
    manifest = probe_sources(table, progress=False)
    assert manifest["video_id"].is_unique
    assert manifest.loc[1:6, "status"].eq(REJECTED).all()
    assert manifest.loc[1:6, "error"].tolist() == errors[1:7]


def test_labels_csv_whole_file_problems_raise_with_the_file_and_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="ingestion.root.*labels CSV not found"):
        read_labels_csv(tmp_path / "nope.csv")
    csv = tmp_path / "labels.csv"
    csv.write_text("file,label\na.mp4,wave\n")
    with pytest.raises(ValueError, match=r"labels.csv: the labels CSV needs a 'path' column"):
        read_labels_csv(csv)
    csv.write_text("")
    with pytest.raises(ValueError, match="the CSV is empty"):
        read_labels_csv(csv)


def test_a_group_column_with_gaps_names_the_lines_and_the_fix(tmp_path):
    for name in ("a", "b", "c", "d"):
        _touch(tmp_path / f"{name}.mp4")
    csv = tmp_path / "labels.csv"
    csv.write_text("path,label,person\na.mp4,wave,P1\nb.mp4,wave,\nc.mp4,clap,P2\nd.mp4,clap, \nx.mp4,clap,\n")
    with pytest.raises(ValueError) as info:
        read_labels_csv(csv, group_column="person")
    message = str(info.value)
    # line 6 (no file) is rejected anyway, so its empty cell is not in the way
    assert "'person'" in message and "2 rows (lines 3, 5)" in message
    assert "fill the column" in message and "ingestion.group_column to null" in message
    table = read_labels_csv(csv, group_column=None)
    assert (table["group"] == "").all()


def test_group_column_defaults_to_group_when_present_and_else_none(tmp_path):
    _touch(tmp_path / "a.mp4")
    _touch(tmp_path / "b.mp4")
    csv = tmp_path / "labels.csv"
    csv.write_text("path,label,person\na.mp4,wave,P1\nb.mp4,clap,P2\n")
    assert read_labels_csv(csv)["group"].tolist() == ["", ""]  # no `group` column: no groups
    assert read_labels_csv(csv, group_column="person")["group"].tolist() == ["P1", "P2"]
    with pytest.raises(ValueError, match="ingestion.group_column='actor' is not a column"):
        read_labels_csv(csv, group_column="actor")
    with pytest.raises(ValueError, match="ingestion.group_column='person' is not a column"):
        read_folder(_folder_with_one_video(tmp_path), group_column="person")


def _folder_with_one_video(tmp_path: Path) -> Path:
    _touch(tmp_path / "folder" / "wave" / "a.mp4")
    return tmp_path / "folder"


def test_kinetics_csv_rejects_bad_rows_with_their_line_number(tmp_path):
    vids = tmp_path / "vids"
    _touch(vids / "abcdefghijk.mp4")
    _touch(vids / "cutcutcut01_000004_000014.mp4")
    _touch(vids / "cutcutcut01_000020_000030.mp4")
    csv = tmp_path / "val.csv"
    csv.write_text(
        "label,youtube_id,time_start,time_end,split\n"  # 1
        "juggling,abcdefghijk,1,2.5,validate\n"  # 2: good
        "juggling,abcdefghijk,,,train\n"  # 3: both empty: the whole video
        "juggling,abcdefghijk,,10,train\n"  # 4: one time empty
        "juggling,abcdefghijk,x,10,train\n"  # 5: not a number
        "juggling,abcdefghijk,5,5,train\n"  # 6: empty range
        "juggling,,0,10,train\n"  # 7: no id
        ",abcdefghijk,0,10,train\n"  # 8: no label
        "juggling,zzzzzzzzzzz,0,10,train\n"  # 9: no file
        "juggling,abcdefghijk,0,10,bogus\n"  # 10: unknown split
        "juggling,cutcutcut01,20,30,test\n"  # 11: an already-cut file, taken whole
    )
    table = read_kinetics_csv(csv, vids)
    errors = table["error"].tolist()
    assert errors[0] == errors[1] == errors[9] == ""
    assert table["split"][0] == "val" and np.isnan(table["time_start"][1]) and np.isnan(table["time_end"][1])
    assert errors[2] == "val.csv line 4: time_start is empty; give both times, or neither for the whole video"
    assert errors[3].startswith("val.csv line 5: time_start 'x' is not a number of seconds")
    assert errors[4] == "val.csv line 6: time_end 5 is not after time_start 5; check the annotation"
    assert errors[5].startswith("val.csv line 7: missing youtube_id")
    assert errors[6] == "val.csv line 8: missing label; give the row a label"
    assert errors[7].startswith("val.csv line 9: no local file for youtube_id zzzzzzzzzzz")
    assert errors[8].startswith("val.csv line 10: unknown split 'bogus'")
    assert Path(table["path"][9]).name == "cutcutcut01_000020_000030.mp4"
    assert np.isnan(table["time_start"][9])
    manifest = probe_sources(table, progress=False)
    assert manifest.loc[2:8, "status"].eq(REJECTED).all()
    assert manifest.loc[2:8, "error"].tolist() == errors[2:9]


def test_kinetics_csv_whole_file_problems_raise(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_text("label,youtube_id,time_start\njuggling,abcdefghijk,1\n")
    with pytest.raises(ValueError, match=r"train.csv: a Kinetics CSV needs columns .*time_end"):
        read_kinetics_csv(csv)
    csv.write_text("label,youtube_id,time_start,time_end\njuggling,abcdefghijk,1,2\n")
    with pytest.raises(FileNotFoundError, match="ingestion.kinetics_video_dir"):
        read_kinetics_csv(csv, tmp_path / "nope")
