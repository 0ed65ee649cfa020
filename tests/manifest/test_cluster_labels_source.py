"""ingestion.source=cluster_labels: named clusters (cluster_labels.csv + cluster_members.csv)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from actionlab.manifest import (
    ACCEPTED,
    REJECTED,
    probe_sources,
    read_cluster_labels,
    read_labels_csv,
)
from actionlab.video import write_video


def _video(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    return write_video(path, rng.integers(0, 255, (10, 32, 32, 3), dtype=np.uint8), fps=10)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Five videos and the two files clustering writes, edited by a user."""
    for i, name in enumerate(("a", "b", "c", "d", "e")):
        _video(tmp_path / "raw" / f"{name}.mp4", seed=i)
    out = tmp_path / "labelled"
    out.mkdir()
    (out / "cluster_labels.csv").write_text(
        "cluster,label,suggested_label,suggested_share,label_mix,n_clips,clips\n"  # line 1
        "0,waving,wave,1.0,wave 2,2,ida idb\n"  # 2: named (renamed from the suggestion)
        "1,clap,clap,1.0,clap 1,2,idc ide\n"  # 3: named
        "2,,jump,1.0,jump 1,1,idd\n"  # 4: no label: its clip is left out
        "7,kick,,,,0,\n"  # 5: unknown cluster
        "1,clapping,,,,,\n"  # 6: cluster 1 twice
    )
    (out / "cluster_members.csv").write_text(
        "video_id,cluster,path,time_start,time_end,group\n"  # line 1
        f"ida,0,{tmp_path / 'raw' / 'a.mp4'},,,p1\n"  # 2: absolute path, whole video
        "idb,0,../raw/b.mp4,,,p2\n"  # 3: relative to the members file
        "idc,1,../raw/c.mp4,0.2,0.8,p1\n"  # 4: a cut clip
        "idd,2,../raw/d.mp4,,,p3\n"  # 5: unnamed cluster
        "ide,1,../raw/gone.mp4,,,p3\n"  # 6: no such file
        "idf,,../raw/e.mp4,,,p3\n"  # 7: no cluster: left out
    )
    return out


def test_named_clusters_become_labelled_rows_and_bad_lines_are_rejected(folder: Path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="actionlab.manifest.sources"):
        table = read_cluster_labels(folder / "cluster_labels.csv")
    good = table[table["error"] == ""]
    assert [Path(p).name for p in good["path"]] == ["a.mp4", "b.mp4", "c.mp4"]
    assert good["label"].tolist() == ["waving", "waving", "clap"]
    assert good["group"].tolist() == ["p1", "p2", "p1"]
    assert np.isnan(good["time_start"].iloc[0]) and good["time_start"].iloc[2] == 0.2
    assert good["time_end"].iloc[2] == 0.8
    assert all(Path(p).is_absolute() for p in good["path"])
    assert not any(Path(p).name in ("d.mp4", "e.mp4") for p in table["path"])  # left out
    assert "cluster 2 (no label): 1" in caplog.text and "no cluster: 1" in caplog.text
    errors = sorted(table.loc[table["error"] != "", "error"])
    assert errors == [
        "cluster_labels.csv line 5: unknown cluster 7: cluster_members.csv has no clip in it; "
        "fix the number or remove the row",
        "cluster_labels.csv line 6: cluster 1 is also on line 3; give each cluster one row",
        f"cluster_members.csv line 6: file not found: {folder.parent / 'raw' / 'gone.mp4'}; "
        "fix the path or remove the row",
    ]
    manifest = probe_sources(table, progress=False)
    assert manifest["status"].tolist() == [ACCEPTED] * 3 + [REJECTED] * 3
    assert manifest["video_id"].is_unique


def test_a_clip_keeps_its_video_id(folder: Path, tmp_path: Path) -> None:
    """Same file and time range as the source it came from: same video_id, so it keeps its split."""
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label,time_start,time_end\nraw/c.mp4,clap,0.2,0.8\nraw/a.mp4,wave,,\n")
    before = probe_sources(read_labels_csv(labels), progress=False)
    after = probe_sources(read_cluster_labels(folder / "cluster_labels.csv"), progress=False)
    assert set(before["video_id"]) <= set(after.loc[after["status"] == ACCEPTED, "video_id"])


def test_a_member_of_a_cluster_without_a_row_is_rejected(folder: Path) -> None:
    members = folder / "cluster_members.csv"
    members.write_text(members.read_text() + "idg,5,../raw/e.mp4,,,p4\n")  # line 8
    table = read_cluster_labels(folder / "cluster_labels.csv")
    assert table["error"].str.startswith("cluster_members.csv line 8: cluster 5 has no accepted row").any()


def test_whole_file_problems_raise_with_the_file_and_fix(folder: Path) -> None:
    with pytest.raises(FileNotFoundError, match="ingestion.root.*cluster_labels CSV not found"):
        read_cluster_labels(folder / "nope.csv")
    (folder / "cluster_members.csv").rename(folder / "elsewhere.csv")
    with pytest.raises(FileNotFoundError, match="cluster_members.csv is missing beside it"):
        read_cluster_labels(folder / "cluster_labels.csv")
    (folder / "elsewhere.csv").rename(folder / "cluster_members.csv")
    (folder / "cluster_labels.csv").write_text("cluster,name\n0,wave\n")
    with pytest.raises(ValueError, match=r"columns \['label'\] are missing"):
        read_cluster_labels(folder / "cluster_labels.csv")
    (folder / "cluster_labels.csv").write_text("cluster,label\n0,\n1,\n2,\n")
    with pytest.raises(ValueError, match="no cluster has a label"):
        read_cluster_labels(folder / "cluster_labels.csv")


def test_an_empty_group_column_means_no_groups_and_a_gap_is_refused(folder: Path) -> None:
    members = folder / "cluster_members.csv"
    header, *rows = members.read_text().splitlines()
    members.write_text("\n".join([header, *(r.rsplit(",", 1)[0] + "," for r in rows)]) + "\n")
    table = read_cluster_labels(folder / "cluster_labels.csv")
    assert "group" in header and table["group"].eq("").all()  # each video its own group
    rows[0] = rows[0].rsplit(",", 1)[0] + ",p1"  # one group given, the others empty: a gap
    members.write_text("\n".join([header, *(r if i == 0 else r.rsplit(",", 1)[0] + "," for i, r in enumerate(rows))]) + "\n")
    with pytest.raises(ValueError, match=r"group column 'group' is empty on 2 rows \(lines 3, 4\)") as err:
        read_cluster_labels(folder / "cluster_labels.csv")
    assert "empty it on every row" in str(err.value) and "does not apply" in str(err.value)
