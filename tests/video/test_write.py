"""write_video and convert_to_mp4: browser-playable H.264 mp4 (yuv420p, even size, faststart)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from actionlab.video import VideoError, convert_to_mp4, iter_frames, probe, write_video

from .conftest import frame_number, make_frames

ACTIONS = ("wave", "squat", "walk", "clap", "jump")


def _assert_browser_playable(path: Path) -> None:
    data = path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat"), "moov must come first (+faststart)"
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264"
        assert s.codec_context.pix_fmt == "yuv420p"
        assert s.codec_context.width % 2 == 0 and s.codec_context.height % 2 == 0


def test_write_video_roundtrip(tmp_path: Path) -> None:
    frames = make_frames(12)
    path = write_video(tmp_path / "sub" / "out.mp4", iter(frames), fps=10)
    assert path == tmp_path / "sub" / "out.mp4"
    _assert_browser_playable(path)
    info = probe(path)
    assert (info.frames, info.width, info.height, info.fps) == (12, 64, 48, 10.0)
    assert [frame_number(f) for _, _, f in iter_frames(path)] == list(range(12))


def test_write_video_odd_size_and_grey(tmp_path: Path) -> None:
    path = write_video(tmp_path / "odd.mp4", [np.full((47, 63), 100, np.uint8)] * 3)
    _assert_browser_playable(path)
    assert (probe(path).width, probe(path).height) == (64, 48)


def test_write_video_errors_leave_no_partial_file(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match=r"none.mp4.*no frames"):
        write_video(tmp_path / "none.mp4", [])
    assert not (tmp_path / "none.mp4").exists()
    frames = [np.zeros((48, 64, 3), np.uint8), np.zeros((32, 32, 3), np.uint8)]
    with pytest.raises(VideoError, match=r"mixed.mp4.*same size"):
        write_video(tmp_path / "mixed.mp4", frames)
    assert not (tmp_path / "mixed.mp4").exists()
    with pytest.raises(VideoError, match=r"float.mp4.*uint8"):
        write_video(tmp_path / "float.mp4", [np.zeros((8, 8, 3), np.float32)])
    with pytest.raises(VideoError, match=r"fps.mp4.*fps"):
        write_video(tmp_path / "fps.mp4", make_frames(2), fps=0)
    assert write_video(tmp_path / "np_fps.mp4", make_frames(2), fps=np.int64(12)).exists()
    with pytest.raises(VideoError, match=r"codec.mp4.*not available"):
        write_video(tmp_path / "codec.mp4", make_frames(2), codec="no-such-encoder")


def test_convert_avi_to_mp4(make_video, frames60, tmp_path: Path) -> None:
    src = make_video("conv_src.avi", frames60[:20], codec="mjpeg", pix_fmt="yuvj420p")
    dst = convert_to_mp4(src, tmp_path / "conv.mp4")
    _assert_browser_playable(dst)
    assert probe(dst).frames == 20
    assert [frame_number(f) for _, _, f in iter_frames(dst)] == list(range(20))


def test_convert_default_name_rotation_and_vfr(make_video, frames60, vdir: Path) -> None:
    phone = make_video("conv_phone.mp4", frames60[:6], rotation=-90)
    out = convert_to_mp4(phone)
    assert out == vdir / "conv_phone_h264.mp4"
    info = probe(out)
    assert (info.rotation, info.width, info.height) == (0, 48, 64)  # stored upright now
    pts = [0, 40, 80, 400, 440, 1000]
    vfr = make_video("conv_vfr.mkv", frames60[:6], pts_ms=pts)
    out = convert_to_mp4(vfr)
    assert out == vdir / "conv_vfr.mp4"
    assert [t for _, t, _ in iter_frames(out)] == pytest.approx([p / 1000 for p in pts], abs=1e-3)


def test_convert_refuses_to_overwrite_source(basic_mp4: Path) -> None:
    with pytest.raises(VideoError, match="dst is the source"):
        convert_to_mp4(basic_mp4, basic_mp4)
    with pytest.raises(VideoError, match="does not exist"):
        convert_to_mp4(basic_mp4.with_name("missing.mov"))


def test_write_video_same_frames_same_bytes(tmp_path: Path) -> None:
    # x264 with B-frames + mbtree used to give different bytes for the same frames from one call
    # to the next (uninitialised memory); other encodes and allocations in between exposed it
    from actionlab.synthetic import render_clip

    rng = np.random.default_rng(0)
    # a still, noisy background with a small moving figure (the built-in videos): short clips
    # with static areas are where x264's rate control read uninitialised memory
    clips = [render_clip(a, seed=s, num_frames=10, size=64).frames for s, a in enumerate(ACTIONS)]
    first = [
        write_video(tmp_path / f"a{i}.mp4", c, fps=10).read_bytes() for i, c in enumerate(clips)
    ]
    for rep in range(5):
        junk = [rng.integers(0, 256, int(n), dtype=np.uint8) for n in rng.integers(1e3, 2e5, 50)]
        del junk
        for i, clip in enumerate(clips):
            again = write_video(tmp_path / f"b{rep}_{i}.mp4", clip, fps=10).read_bytes()
            assert again == first[i], f"clip {i}, repeat {rep}: different bytes"
    assert len(set(first)) == len(first)


def test_write_video_same_bytes_for_block_textures_written_over_and_over(tmp_path: Path) -> None:
    # without B-frames x264's mbtree still read uninitialised memory on these small moving block
    # textures: the same frames, rewritten 40 times between growing allocations, gave 2-3
    # different files
    junk = []
    for seed in (1, 400):
        base = np.random.default_rng(seed).integers(0, 255, (6, 8, 3), dtype=np.uint8)
        clip = np.stack([np.roll(base.repeat(8, 0).repeat(8, 1), 2 * i, axis=1) for i in range(10)])
        seen = set()
        for rep in range(40):
            junk.append(np.random.default_rng(rep).integers(0, 255, rep * 100_000 + 7, dtype=np.uint8))
            seen.add(write_video(tmp_path / f"s{seed}.mp4", clip, fps=10).read_bytes())
        assert len(seen) == 1, f"seed {seed}: {len(seen)} different files from the same frames"


def test_write_video_is_atomic(tmp_path: Path) -> None:
    # while frames are being encoded nothing exists under the final name (a kill leaves only a
    # hidden temporary file); a failure midway removes the temporary file too
    path = tmp_path / "clip.mp4"
    seen: list[list[str]] = []

    def frames(fail_at: int | None):
        for i, frame in enumerate(make_frames(30)):
            seen.append(sorted(p.name for p in tmp_path.iterdir()))
            if i == fail_at:
                raise RuntimeError("stopped midway")
            yield frame

    with pytest.raises(RuntimeError, match="midway"):
        write_video(path, frames(fail_at=25))
    assert list(tmp_path.iterdir()) == []
    assert (
        len(seen[25]) == 1 and seen[25][0].startswith(".clip.mp4.") and seen[25][0].endswith(".tmp")
    )
    seen.clear()
    write_video(path, frames(fail_at=None))
    assert "clip.mp4" not in seen[-1]
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
    assert probe(path).frames == 30


def test_convert_to_mp4_is_atomic(make_video, frames60, tmp_path: Path, monkeypatch) -> None:
    src = make_video("atomic_src.mkv", frames60[:10])
    import actionlab.video.write as write_mod

    real = write_mod._Mp4Writer.add

    def add(self, frame, t=None):
        if self.last_pts > 0.2 / float(write_mod._TIME_BASE):
            raise OSError("disk full")
        real(self, frame, t)

    monkeypatch.setattr(write_mod._Mp4Writer, "add", add)
    with pytest.raises(OSError, match="disk full"):
        convert_to_mp4(src, tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert probe(convert_to_mp4(src, tmp_path / "out.mp4")).frames == 10
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
