"""probe_row and probe_sources: one pure function per row, warnings, truncated files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actionlab.manifest import ACCEPTED, MANIFEST_COLUMNS, REJECTED, probe_sources
from actionlab.manifest.build import probe_row
from actionlab.video import write_video


def _frames(n: int, seed: int = 0) -> np.ndarray:
    """``n`` smooth moving 48x64 frames (compress like real video: cut files keep many frames)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8).repeat(8, 0).repeat(8, 1)
    return np.stack([np.roll(base, 2 * i, axis=1) for i in range(n)])


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("build")
    good = write_video(root / "good.mp4", _frames(30), fps=10)
    full = write_video(root / "full.mp4", _frames(60, seed=1), fps=10)
    data = full.read_bytes()
    cut = root / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.7)])  # index first (+faststart): the start decodes
    header_only = root / "header_only.mp4"
    header_only.write_bytes(data[: data.find(b"mdat") + 8])  # index but not one frame's bytes
    return {"good": good, "cut": cut, "header_only": header_only}


def test_probe_row_accepts_a_good_video_with_its_facts(videos) -> None:
    row = probe_row({"path": str(videos["good"]), "label": "wave", "frames": 999, "person": "P1"})
    assert row["status"] == ACCEPTED and row["error"] == "" and row["warnings"] == ""
    assert (row["frames"], row["fps"], row["width"], row["height"]) == (30, 10.0, 64, 48)
    assert row["duration"] == pytest.approx(3.0) and row["codec"] == "h264"
    assert len(row["video_id"]) == 16 and row["person"] == "P1" and row["label"] == "wave"
    cut = probe_row(
        {"path": str(videos["good"]), "label": "wave", "time_start": 1.0, "time_end": 2.0}
    )
    assert cut["frames"] == 10 and cut["video_id"] == f"{row['video_id']}_1_2"


def test_truncated_file_accepted_with_warning_or_rejected(videos) -> None:
    row = {"path": str(videos["cut"]), "label": "wave"}
    accepted = probe_row(row)
    assert accepted["status"] == ACCEPTED and accepted["error"] == ""
    assert 10 < accepted["frames"] < 60
    assert accepted["duration"] == pytest.approx(accepted["frames"] / 10)
    assert str(videos["cut"]) in accepted["warnings"] and "lists 60 frames" in accepted["warnings"]
    rejected = probe_row(row, truncated="reject")
    assert rejected["status"] == REJECTED and rejected["warnings"] == ""
    assert "truncated" in rejected["error"] and "ingestion.truncated=accept" in rejected["error"]
    with pytest.raises(ValueError, match="ingestion.truncated"):
        probe_row(row, truncated="maybe")


def test_file_without_a_decodable_frame_stays_rejected(videos) -> None:
    row = probe_row({"path": str(videos["header_only"]), "label": "wave"})
    assert row["status"] == REJECTED and str(videos["header_only"]) in row["error"]
    assert row["frames"] == 0 and row["video_id"] == ""


def test_probe_row_rejects_rows_it_cannot_use(tmp_path: Path, videos) -> None:
    missing = probe_row({"path": str(tmp_path / "nope.mp4"), "label": "wave"})
    assert missing["status"] == REJECTED and "file not found" in missing["error"]
    flagged = probe_row({"path": str(videos["good"]), "label": "", "error": "missing label"})
    assert flagged["status"] == REJECTED and flagged["error"] == "missing label"
    empty = probe_row(
        {"path": str(videos["good"]), "label": "w", "time_start": 2.0, "time_end": 2.0}
    )
    assert "empty time range" in empty["error"]


def test_probe_sources_is_probe_row_per_row_plus_dedupe_and_columns(videos) -> None:
    sources = pd.DataFrame(
        {
            "path": [str(videos[k]) for k in ("good", "cut", "header_only", "good")],
            "label": ["wave", "clap", "clap", "wave"],
            "person": ["P1", "P2", "P3", "P4"],
        }
    )
    manifest = probe_sources(sources, progress=False)
    assert (
        list(manifest.columns) == [*MANIFEST_COLUMNS, "person"] and "warnings" in MANIFEST_COLUMNS
    )
    assert manifest["status"].tolist() == [ACCEPTED, ACCEPTED, REJECTED, REJECTED]
    assert "duplicate" in manifest["error"][3]
    assert manifest["warnings"].tolist()[0] == "" and manifest["warnings"][1]
    for i, row in enumerate(sources.to_dict("records")[:3]):  # the loop adds nothing per row
        expected = probe_row(row)
        for column in ("frames", "status", "error", "warnings", "codec"):
            assert manifest[column][i] == expected[column], column
    strict = probe_sources(sources, truncated="reject", progress=False)
    assert strict["status"].tolist() == [ACCEPTED, REJECTED, REJECTED, REJECTED]
