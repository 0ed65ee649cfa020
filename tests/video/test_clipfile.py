"""Chunked clip files: round trip, windows, file objects, and write_clip == load_clip."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from actionlab.video import VideoError, load_clip
from actionlab.video import clipfile as cf
from actionlab.video.clipfile import (
    ClipWriter,
    clip_length,
    clip_warnings,
    read_clip,
    write_clip,
)


def _frames(n: int, side: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, side, side, 3), dtype=np.uint8)


@pytest.fixture
def clip_path(tmp_path: Path) -> Path:
    """A 40-frame clip written in uneven appends (16, 1, 23) with two warnings."""
    frames = _frames(40)
    path = tmp_path / "c.h5"
    with ClipWriter(path, chunk_frames=16) as w:
        for lo, hi in ((0, 16), (16, 17), (17, 40)):
            w.append(frames[lo:hi], np.arange(lo, hi) * 3, np.arange(lo, hi) / 10)
        assert w.count == 40
        w.close(warnings=["a: damaged", "b: ünïcode"])
    return path


def test_round_trip(clip_path: Path) -> None:
    got = read_clip(clip_path)
    assert set(got) == {"frames", "indices", "times"}
    assert np.array_equal(got["frames"], _frames(40))
    assert got["frames"].dtype == np.uint8
    assert got["indices"].dtype == np.int64 and got["indices"].tolist() == list(range(0, 120, 3))
    assert got["times"].dtype == np.float64 and np.allclose(got["times"], np.arange(40) / 10)
    assert clip_warnings(clip_path) == ["a: damaged", "b: ünïcode"]
    assert clip_length(clip_path) == 40
    with h5py.File(clip_path) as f:
        assert f["frames"].chunks == (16, 8, 8, 3)
        assert f["frames"].compression == "lzf"
        assert f["frames"].maxshape == (None, 8, 8, 3)
        assert f.attrs["format_version"] == cf.FORMAT_VERSION


@pytest.mark.parametrize(("start", "stop"), [(0, 16), (5, 33), (30, None), (None, 3), (-4, None), (38, 99), (20, 10)])
def test_window_equals_slice_of_full_read(clip_path: Path, start, stop) -> None:
    full = read_clip(clip_path)
    part = read_clip(clip_path, start, stop)
    for key in ("frames", "indices", "times"):
        assert np.array_equal(part[key], full[key][start:stop]), key


def test_read_from_open_binary_file(clip_path: Path) -> None:
    with open(clip_path, "rb") as fh:
        assert clip_length(fh) == 40
        window = read_clip(fh, 10, 20)
        assert not fh.closed  # the caller's file object stays open
    assert np.array_equal(window["frames"], _frames(40)[10:20])
    assert window["indices"].tolist() == list(range(30, 60, 3))


def test_no_warnings_and_empty_writer(tmp_path: Path) -> None:
    path = tmp_path / "one.h5"
    with ClipWriter(path) as w:
        w.append(_frames(1), [7], [0.5])
    assert clip_warnings(path) == [] and read_clip(path)["indices"].tolist() == [7]
    empty = tmp_path / "empty.h5"
    with pytest.raises(VideoError, match="no frames were appended"):
        with ClipWriter(empty):
            pass
    assert not empty.exists()


def test_writer_rejects_bad_input(tmp_path: Path) -> None:
    w = ClipWriter(tmp_path / "bad.h5")
    with pytest.raises(ValueError, match="uint8"):
        w.append(np.zeros((2, 8, 8, 3), np.float32), [0, 1], [0, 0])
    with pytest.raises(ValueError, match="indices"):
        w.append(_frames(2), [0], [0, 1])
    w.append(_frames(2), [0, 1], [0, 1])
    with pytest.raises(ValueError, match="one size"):
        w.append(_frames(2, side=4), [2, 3], [2, 3])
    w.close()
    with pytest.raises(VideoError, match="closed"):
        w.append(_frames(1), [4], [4])


def test_not_a_clip_file(tmp_path: Path) -> None:
    bogus = tmp_path / "x.h5"
    bogus.write_bytes(b"not hdf5 at all")
    with pytest.raises(VideoError, match="not a readable clip file"):
        read_clip(bogus)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["frames"] = np.zeros((1, 2, 2, 3), np.uint8)
    with pytest.raises(VideoError, match="format version 0"):
        clip_length(tmp_path / "other.h5")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"strategy": "uniform", "num_frames": 7},
        {"strategy": "step", "step": 3},
        {"strategy": "step", "step": 1, "max_frames": 33},
        {"strategy": "large_step", "num_frames": 5},
        {"strategy": "cosine", "threshold": 0.99},
        {"strategy": "all", "crop_offset": (1.0, -0.5)},
        {"strategy": "all", "start": 0.5, "duration": 1.2},
    ],
)
def test_write_clip_equals_load_clip(tmp_path: Path, basic_mp4: Path, kwargs) -> None:
    path = tmp_path / "w.h5"
    summary = write_clip(path, basic_mp4, chunk_frames=4, size=24, **kwargs)
    want = load_clip(basic_mp4, size=24, **kwargs)
    got = read_clip(path)
    assert summary.frames == len(want.indices) == clip_length(path) > 0
    assert np.array_equal(got["frames"], want.frames)
    assert np.array_equal(got["indices"], want.indices) and np.array_equal(summary.indices, want.indices)
    assert np.array_equal(got["times"], want.times) and np.array_equal(summary.times, want.times)
    assert np.all(np.diff(got["indices"]) > 0)  # ordered stream
    assert summary.warnings == want.warnings == clip_warnings(path)


def test_write_clip_appends_at_most_a_chunk(tmp_path: Path, basic_mp4: Path, monkeypatch) -> None:
    sizes: list[int] = []
    real = ClipWriter.append

    def spy(self: ClipWriter, frames: np.ndarray, indices, times) -> None:
        sizes.append(len(frames))
        real(self, frames, indices, times)

    monkeypatch.setattr(ClipWriter, "append", spy)
    summary = write_clip(tmp_path / "s.h5", basic_mp4, chunk_frames=8, strategy="all", size=16)
    assert summary.frames == 60 and sum(sizes) == 60
    assert sizes == [8] * 7 + [4]


def test_write_clip_errors_leave_no_file(tmp_path: Path, basic_mp4: Path) -> None:
    path = tmp_path / "e.h5"
    with pytest.raises(VideoError, match="strategy"):
        write_clip(path, basic_mp4, strategy="random")
    with pytest.raises(VideoError, match="contains no frames"):
        write_clip(path, basic_mp4, start=30.0, strategy="uniform")
    assert not path.exists()
    with pytest.raises(ValueError, match="chunk_frames"):
        write_clip(path, basic_mp4, chunk_frames=0)


def test_gzip_compression(tmp_path: Path, basic_mp4: Path) -> None:
    path = tmp_path / "g.h5"
    write_clip(path, basic_mp4, compression="gzip", strategy="step", step=5, size=16)
    with h5py.File(path) as f:
        assert f["frames"].compression == "gzip" and f["frames"].compression_opts == 1
    assert np.array_equal(read_clip(path)["frames"], load_clip(basic_mp4, strategy="step", step=5, size=16).frames)
