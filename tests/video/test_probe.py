"""probe(): exact frame counts, display size, rotation, start time, and clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from actionlab.video import VideoError, VideoInfo, probe, write_video

from .conftest import frame_number, make_frames, require_encoder, write


def test_basic_mp4(basic_mp4: Path) -> None:
    info = probe(basic_mp4)
    assert isinstance(info, VideoInfo)
    assert info == VideoInfo(
        path=str(basic_mp4), container="mov", codec="h264", fps=25.0, frames=60, duration=2.4,
        width=64, height=48, rotation=0, start_time=0.0, pix_fmt="yuv420p",
    )


@pytest.mark.parametrize(("name", "fmt"), [("nohdr.mkv", None), ("nohdr.ts", "mpegts"), ("nohdr.webm", None)])
def test_frame_count_exact_without_header_count(make_video, frames60, name: str, fmt: str | None) -> None:
    kwargs = {"codec": "libvpx-vp9"} if name.endswith(".webm") else {}
    path = make_video(name, frames60[:37], fmt=fmt, **kwargs)
    with av.open(str(path)) as c:
        header = c.streams.video[0].frames
    info = probe(path)
    assert info.frames == 37, f"header said {header}"
    assert info.duration == pytest.approx(37 / 25, abs=0.05)


def test_fragmented_mp4_frame_count(vdir: Path, frames60) -> None:
    path = vdir / "fragmented.mp4"
    with av.open(str(path), "w", options={"movflags": "frag_keyframe+empty_moov"}) as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.options = {"g": "12", "threads": "1"}
        for f in frames60[:40]:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    assert probe(path).frames == 40


def _decodable(path: Path) -> list[int]:
    """Frame numbers that plain PyAV decodes from ``path``, skipping packets that fail."""
    numbers = []
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        for packet in c.demux(stream):
            try:
                numbers += [frame_number(f.to_ndarray(format="rgb24")) for f in packet.decode()]
            except av.FFmpegError:
                continue
    return sorted(numbers)


def test_wrong_header_count_truncated_avi(vdir: Path, frames60) -> None:
    full = write(vdir / "trunc_src.avi", frames60, codec="mjpeg", pix_fmt="yuvj420p")
    data = full.read_bytes()
    cut = vdir / "trunc.avi"
    cut.write_bytes(data[: len(data) // 2])
    with av.open(str(cut)) as c:
        assert c.streams.video[0].frames == 60  # the header lies
    info = probe(cut)
    # the last packet is cut short and does not decode: only the whole ones count
    assert info.truncated and info.frames == len(_decodable(cut)) and 15 <= info.frames < 40
    assert _decodable(cut) == list(range(info.frames))
    assert info.duration == pytest.approx(info.frames / 25)
    assert str(cut) in info.warning and f"only {info.frames} decode" in info.warning
    assert "lists 60 frames" in info.warning
    assert probe(full).warning == "" and not probe(full).truncated


def test_avi_header_overstating_its_length(lying_avi: Path) -> None:
    with av.open(str(lying_avi)) as c:
        assert c.streams.video[0].frames == 90  # every header field says 90
    info = probe(lying_avi)
    assert (info.frames, info.truncated) == (30, True)
    assert info.duration == pytest.approx(30 / 25)
    assert "lists 90 frames but only 30 decode" in info.warning
    assert _decodable(lying_avi) == list(range(30))


def test_cut_mp4_counts_the_frames_that_decode(cut_mp4: Path) -> None:
    info = probe(cut_mp4)
    assert (info.frames, info.truncated) == (40, True)
    assert _decodable(cut_mp4) == list(range(40))
    assert info.duration == pytest.approx(40 / 25)
    assert "lists 60 frames but only 40 decode" in info.warning


def test_truncated_faststart_mp4_counts_only_present_samples(vdir: Path, frames60) -> None:
    src = write_video(vdir / "fs_src.mp4", frames60)
    data = src.read_bytes()
    cut = vdir / "fs_cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    info = probe(cut)
    assert 10 < info.frames < 60 and info.truncated and info.warning
    assert info.frames == len(_decodable(cut))
    assert not probe(src).truncated
    assert info.duration == pytest.approx(info.frames / 25)


def test_cut_before_the_first_frame_is_rejected(cut_mp4: Path, tmp_path: Path) -> None:
    with av.open(str(cut_mp4)) as c:
        first = next(p for p in c.demux(video=0) if p.size)
    path = tmp_path / "no_frame.mp4"
    path.write_bytes(cut_mp4.read_bytes()[: first.pos + first.size // 2])
    with pytest.raises(VideoError) as err:
        probe(path)
    _assert_clear(err, path, "no decodable video frame")


def test_one_frame_video(make_video) -> None:
    info = probe(make_video("one.mp4", make_frames(1)))
    assert info.frames == 1 and info.width == 64 and info.height == 48


def test_portrait_phone_rotation(make_video) -> None:
    # a phone held upright stores landscape pixels plus a display matrix (ffprobe: rotation -90)
    path = make_video("phone.mp4", make_frames(10, 48, 64), rotation=-90)
    info = probe(path)
    assert info.rotation == 270
    assert (info.width, info.height) == (48, 64)  # display size, after rotation


def test_audio_first_stream(make_video, frames60) -> None:
    path = make_video("audio_first.mp4", frames60[:20], audio_first=True)
    with av.open(str(path)) as c:
        assert c.streams[0].type == "audio"
    info = probe(path)
    assert info.codec == "h264" and info.frames == 20


def test_nonzero_start_time(make_video, frames60) -> None:
    pts = [2000 + 40 * i for i in range(20)]
    info = probe(make_video("late_start.mkv", frames60[:20], pts_ms=pts))
    assert info.start_time == pytest.approx(2.0)
    assert info.frames == 20
    assert info.duration == pytest.approx(0.8, abs=0.05)


def test_variable_frame_rate(make_video, frames60) -> None:
    pts = [0, 40, 80, 120, 500, 520, 540, 560, 1000, 1100]
    info = probe(make_video("vfr.mkv", frames60[:10], pts_ms=pts))
    assert info.frames == 10
    assert info.duration == pytest.approx(1.1, abs=0.11)


def test_ten_bit(make_video, frames60) -> None:
    require_encoder("libx264")
    info = probe(make_video("tenbit.mp4", frames60[:10], pix_fmt="yuv420p10le"))
    assert info.pix_fmt == "yuv420p10le" and info.frames == 10


@pytest.mark.parametrize(
    ("name", "codec", "decoded_as"),
    # FFmpeg's H.264 decoder outputs 4:0:0 (monochrome) streams as yuv420p with flat chroma
    [("grey_ffv1.mkv", "ffv1", "gray"), ("grey_x264.mp4", "libx264", "yuv420p")],
)
def test_grey(make_video, name: str, codec: str, decoded_as: str) -> None:
    require_encoder(codec)
    info = probe(make_video(name, make_frames(10, gray=True), codec=codec, pix_fmt="gray"))
    assert info.pix_fmt == decoded_as and info.frames == 10


def test_odd_dimensions(make_video) -> None:
    info = probe(make_video("odd.mkv", make_frames(5, 47, 63), codec="ffv1"))
    assert (info.width, info.height) == (63, 47)


# --------------------------------------------------------------------------- bad inputs


def _assert_clear(err: pytest.ExceptionInfo[VideoError], path: Path, *words: str) -> None:
    msg = str(err.value)
    assert str(path) in msg, msg
    for word in words:
        assert word in msg, msg


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(VideoError) as err:
        probe(path)
    _assert_clear(err, path, "empty", "re-download")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoError) as err:
        probe(tmp_path / "missing.mp4")
    _assert_clear(err, tmp_path / "missing.mp4", "does not exist")


def test_text_file_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 20)
    with pytest.raises(VideoError) as err:
        probe(path)
    _assert_clear(err, path, "cannot be opened as a video", "re-export")


def test_truncated_mp4_first_half(basic_mp4: Path, tmp_path: Path) -> None:
    # the default mp4 writes its index (moov) at the end, like cameras: half a file has none
    data = basic_mp4.read_bytes()
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError) as err:
        probe(path)
    _assert_clear(err, path, "truncated", "re-download")


def test_audio_only(tmp_path: Path) -> None:
    path = tmp_path / "voice.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=16000)
        s.layout = "mono"
        f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        f.sample_rate = 16000
        for k in range(10):
            f.pts = k * 1024
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    with pytest.raises(VideoError) as err:
        probe(path)
    _assert_clear(err, path, "no video stream", "audio")


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_still_image_renamed_mp4(tmp_path: Path, ext: str) -> None:
    img = tmp_path / f"photo{ext}"
    cv2.imwrite(str(img), make_frames(1)[0])
    path = tmp_path / f"photo{ext}.mp4"
    shutil.copy(img, path)
    with pytest.raises(VideoError) as err:
        probe(path)
    _assert_clear(err, path, "still image", "not a video")


def test_folder_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="not a regular file"):
        probe(tmp_path)


def test_no_decodable_frame(tmp_path: Path) -> None:
    from fractions import Fraction

    from actionlab.video import iter_frames, load_clip

    path = tmp_path / "garbage.mkv"
    with av.open(str(path), "w") as c:
        s = c.add_stream("mjpeg", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuvj420p"
        for i in range(5):  # packets of random bytes under a valid container
            p = av.Packet(np.random.default_rng(i).integers(0, 255, 500, dtype=np.uint8).tobytes())
            p.stream, p.pts, p.dts, p.time_base = s, i, i, Fraction(1, 25)
            c.mux(p)
    with pytest.raises(VideoError) as err:
        probe(path)
    _assert_clear(err, path, "no decodable video frame", "re-export")
    warnings: list[str] = []
    assert list(iter_frames(path, warnings=warnings)) == []
    assert len(warnings) >= 5
    with pytest.raises(VideoError, match="no decodable frames"):
        load_clip(path, strategy="uniform")


# --------------------------------------------------------------------------- our bugs vs bad input


def test_bug_in_our_code_propagates_unchanged(basic_mp4: Path, monkeypatch) -> None:
    import importlib

    from actionlab.video.errors import is_own_bug

    probe_module = importlib.import_module("actionlab.video.probe")

    # a wrong call signature: the TypeError is raised on probe.py's own line
    monkeypatch.setattr(probe_module, "normalize_rotation", lambda: 0)
    with pytest.raises(TypeError) as err:
        probe(basic_mp4)
    assert is_own_bug(err.value) and not isinstance(err.value, VideoError)
    monkeypatch.undo()
    # an attribute our code expects is missing: AttributeError on probe.py's own line
    monkeypatch.setattr(probe_module, "_first_frame", lambda container, stream: object())
    with pytest.raises(AttributeError) as err:
        probe(basic_mp4)
    assert is_own_bug(err.value)


def test_library_failure_on_a_user_file_becomes_video_error(tmp_path: Path) -> None:
    import json

    from actionlab.video.errors import as_video_error, is_own_bug

    garbage = tmp_path / "garbage.mkv"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError) as err, as_video_error(garbage):
        av.open(str(garbage)).close()  # PyAV raises av.error.InvalidDataError
    assert str(garbage) in str(err.value) and isinstance(err.value.__cause__, av.FFmpegError)
    assert not is_own_bug(err.value.__cause__)
    # a "bug" type raised inside third-party code on odd data is still the file's problem
    with pytest.raises(VideoError, match="TypeError") as err, as_video_error(garbage):
        json.dumps(object())
    assert not is_own_bug(err.value.__cause__)
    for exc in (OSError("disk"), ValueError("odd"), RuntimeError("x"), EOFError()):
        with pytest.raises(VideoError, match=type(exc).__name__), as_video_error(garbage):
            raise exc


def test_is_own_bug_judges_type_and_innermost_frame() -> None:
    from actionlab.video.errors import is_own_bug
    from actionlab.video.transforms import normalize_rotation

    def caught(fn, *args, **kwargs) -> BaseException:
        try:
            fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001
            return err
        raise AssertionError("no exception")

    assert not is_own_bug(TypeError("never raised"))  # no traceback: nothing to blame
    assert not is_own_bug(caught(int, "x"))  # ValueError: not a bug type
    assert not is_own_bug(caught(lambda: {}["k"]))  # KeyError raised in this test file
    assert is_own_bug(caught(normalize_rotation, None))  # TypeError on actionlab's own line
    assert not is_own_bug(caught(normalize_rotation, "abc"))  # ValueError there: bad data
