"""The raw videos dataset: a handle on where the videos are, listed and previewed without
opening a frame."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from kedro.io import DatasetError

from actionlab.datasets import RawVideosDataset


def _tree(root: Path) -> dict[str, int]:
    """Videos of a few sizes plus files that are not videos; the videos' sizes by relative path."""
    sizes = {"wave/b.mp4": 3000, "wave/a.MOV": 1200, "clap/c.avi": 500_000}
    for rel, size in sizes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"\0" * size)
    (root / "labels.csv").write_text("path,label\nwave/b.mp4,wave\n")
    (root / "masks" / "wave").mkdir(parents=True)
    (root / "masks" / "wave" / "b.npz").write_bytes(b"\0" * 10)
    return sizes


def test_load_is_a_handle_that_lists_the_videos(tmp_path):
    sizes = _tree(tmp_path / "videos")
    handle = RawVideosDataset(path=str(tmp_path / "videos")).load()
    assert handle.root == str(tmp_path / "videos") and handle.is_local and handle.exists()
    files = handle.files()
    assert files["file"].tolist() == sorted(sizes)  # videos only (any case), sorted, relative
    shown = dict(zip(files["file"], files["size_mb"], strict=True))
    assert shown == {k: pytest.approx(v / 1e6, abs=5e-4) for k, v in sizes.items()}  # MB, 3 decimals


def test_a_csv_root_lists_the_videos_beside_it(tmp_path):
    sizes = _tree(tmp_path / "videos")
    handle = RawVideosDataset(path=str(tmp_path / "videos" / "labels.csv")).load()
    assert handle.files()["file"].tolist() == sorted(sizes)


def test_preview_is_a_small_table_of_the_first_files(tmp_path):
    sizes = _tree(tmp_path / "videos")
    dataset = RawVideosDataset(path=str(tmp_path / "videos"))
    preview = dataset.preview(nrows=2)
    assert preview["columns"] == ["file", "size_mb"]
    assert [row[0] for row in preview["data"]] == sorted(sizes)[:2]
    # Kedro-Viz picks the preview renderer by the return annotation's name
    annotation = inspect.signature(dataset.preview).return_annotation
    assert getattr(annotation, "__name__", str(annotation)) == "TablePreview"


def test_a_missing_root_loads_but_listing_names_the_path_and_the_fix(tmp_path):
    missing = tmp_path / "nowhere"
    dataset = RawVideosDataset(path=str(missing))
    handle = dataset.load()  # the synthetic source writes its videos into a missing root
    assert not dataset.exists() and not handle.exists()
    with pytest.raises(FileNotFoundError) as err:
        handle.files()
    message = str(err.value)
    assert str(missing) in message and "--params" in message and "conf/local/globals.yml" in message
    with pytest.raises(FileNotFoundError, match="nowhere"):
        dataset.preview()


def test_the_raw_videos_are_read_only(tmp_path):
    with pytest.raises(DatasetError, match="read-only"):
        dataset = RawVideosDataset(path=str(tmp_path))
        dataset.save(dataset.load())
