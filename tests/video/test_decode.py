"""iter_frames / read_frames / load_clip on generated videos, including damaged and unusual ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from actionlab.video import (
    Clip,
    VideoError,
    crop_resize,
    iter_clip,
    iter_frames,
    load_clip,
    probe,
    read_frames,
    rotate_frame,
    set_decode_threads,
    uniform_indices,
)

from .conftest import damage, frame_number, make_frames, require_encoder


def _numbers(frames) -> list[int]:
    return [frame_number(f) for f in frames]


# --------------------------------------------------------------------------- iter_frames


def test_iter_frames_matches_plain_pyav(basic_mp4: Path, reference: np.ndarray) -> None:
    out = list(iter_frames(basic_mp4))
    assert [i for i, _, _ in out] == list(range(60))
    assert np.allclose([t for _, t, _ in out], np.arange(60) / 25)
    frames = np.stack([f for _, _, f in out])
    assert frames.dtype == np.uint8 and frames.shape == (60, 48, 64, 3)
    assert np.array_equal(frames, reference)
    assert _numbers(frames) == list(range(60))


@pytest.mark.parametrize(
    ("kwargs", "first", "count"),
    [
        ({"start": 1.0, "end": 1.6}, 25, 15),
        ({"start": 1.0, "duration": 0.6}, 25, 15),
        ({"start": 0.52}, 13, 47),  # mid-GOP start: seek to the keyframe before, decode forward
        ({"end": 0.2}, 0, 5),
        ({"start": 2.3}, 58, 2),
        ({"start": 9.0}, None, 0),
    ],
)
def test_iter_frames_time_range(basic_mp4: Path, reference: np.ndarray, kwargs, first, count) -> None:
    out = list(iter_frames(basic_mp4, **kwargs))
    assert len(out) == count
    if count:
        assert [i for i, _, _ in out] == list(range(count))
        assert out[0][1] == pytest.approx(first / 25)
        assert np.array_equal(np.stack([f for _, _, f in out]), reference[first : first + count])


@pytest.mark.parametrize(
    "kwargs",
    [{"start": -1.0}, {"start": 1.0, "end": 0.5}, {"end": 1.0, "duration": 1.0}, {"duration": 0.0}, {"start": float("nan")}],
)
def test_bad_range_is_videoerror_naming_file(basic_mp4: Path, kwargs) -> None:
    with pytest.raises(VideoError, match="basic.mp4"):
        list(iter_frames(basic_mp4, **kwargs))


def test_iter_frames_can_stop_early(basic_mp4: Path) -> None:
    gen = iter_frames(basic_mp4)
    assert next(gen)[0] == 0
    gen.close()


# --------------------------------------------------------------------------- read_frames


def test_read_frames_unsorted_duplicates(basic_mp4: Path, reference: np.ndarray) -> None:
    idx = [59, 3, 3, 40, 0, 13]
    out = read_frames(basic_mp4, idx)
    assert out.shape == (6, 48, 64, 3) and out.dtype == np.uint8
    assert np.array_equal(out, reference[idx])  # GOP skipping decodes the same pixels


def test_read_frames_in_range(basic_mp4: Path, reference: np.ndarray) -> None:
    out = read_frames(basic_mp4, [0, 2, 14], start=1.0, end=1.6)
    assert np.array_equal(out, reference[[25, 27, 39]])


def test_read_frames_index_out_of_range(basic_mp4: Path) -> None:
    with pytest.raises(VideoError, match=r"basic.mp4.*index 60 is out of range.*\[0, 59\]"):
        read_frames(basic_mp4, [0, 60])
    with pytest.raises(VideoError, match="out of range"):
        read_frames(basic_mp4, [-1])
    with pytest.raises(VideoError, match=r"has 15 frames"):
        read_frames(basic_mp4, [15], start=1.0, end=1.6)
    with pytest.raises(VideoError, match="contains no frames"):
        read_frames(basic_mp4, [0], start=30.0)
    assert read_frames(basic_mp4, []).shape == (0, 48, 64, 3)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("gop.ts", {"fmt": "mpegts"}),
        ("gop.mkv", {}),
        ("opengop.mkv", {"options": {"x264-params": "open-gop=1:keyint=10:bframes=3"}}),
        ("gop_mjpeg.avi", {"codec": "mjpeg", "pix_fmt": "yuvj420p"}),
    ],
)
def test_read_frames_equals_sequential_decode(make_video, frames60, name: str, kwargs) -> None:
    path = make_video(name, frames60, **kwargs)
    seq = np.stack([f for _, _, f in iter_frames(path)])
    idx = [50, 1, 37, 38, 12, 59]
    assert np.array_equal(read_frames(path, idx), seq[idx])


# --------------------------------------------------------------------------- load_clip


def _assert_close(got: np.ndarray, want: np.ndarray) -> None:
    """load_clip crops + resizes in YUV inside FFmpeg; crop_resize on full RGB was the old path.

    swscale's scaled YUV->RGB path comes out about 1 level brighter on average; these test
    frames (sharp texture, 8x8 black/white blocks) differ by up to ~15 at coloured edges,
    camera-like content by a few levels at most (see benchmarks/decode.py --clipfile).
    """
    assert got.shape == want.shape and got.dtype == np.uint8
    diff = got.astype(np.int16) - want.astype(np.int16)
    assert np.abs(diff).mean() < 2.5 and np.abs(diff).max() <= 16, (diff.max(), diff.mean())
    assert np.abs(diff.reshape(-1, 3).mean(axis=0)).max() < 1.5  # no colour shift


def test_load_clip_uniform(basic_mp4: Path, reference: np.ndarray) -> None:
    clip = load_clip(basic_mp4, strategy="uniform", num_frames=8, size=32)
    assert isinstance(clip, Clip)
    want = uniform_indices(60, 8)
    assert clip.indices.dtype == np.int64 and clip.indices.tolist() == want.tolist()
    assert clip.times.dtype == np.float64 and np.allclose(clip.times, want / 25)
    assert clip.frames.shape == (8, 32, 32, 3) and clip.frames.dtype == np.uint8
    expected = np.stack([crop_resize(reference[i], 32) for i in want])
    _assert_close(clip.frames, expected)
    assert clip.warnings == []


@pytest.mark.parametrize(
    ("kwargs", "indices"),
    [
        ({"strategy": "step", "step": 7}, list(range(0, 60, 7))),
        ({"strategy": "step", "step": 2, "max_frames": 3}, [0, 2, 4]),
        ({"strategy": "large_step", "num_frames": 4}, [0, 15, 30, 45]),
        ({"strategy": "all", "max_frames": 5}, [0, 1, 2, 3, 4]),
        ({"strategy": "uniform", "num_frames": 3, "start": 1.0, "end": 1.6}, [0, 5, 10]),
    ],
)
def test_load_clip_strategies(basic_mp4: Path, reference: np.ndarray, kwargs, indices) -> None:
    clip = load_clip(basic_mp4, size=16, **kwargs)
    assert clip.indices.tolist() == indices
    offset = 25 if "start" in kwargs else 0
    expected = np.stack([crop_resize(reference[offset + i], 16) for i in indices])
    _assert_close(clip.frames, expected)


def test_load_clip_all_and_crop_offset(basic_mp4: Path, reference: np.ndarray) -> None:
    clip = load_clip(basic_mp4, strategy="all", size=24, crop_offset=(1.0, 0.0))
    assert len(clip.indices) == 60
    _assert_close(clip.frames[7], crop_resize(reference[7], 24, (1.0, 0.0)))


def test_load_clip_cosine_drops_repeated_frames(make_video) -> None:
    a, b, c = (np.zeros((48, 64, 3), np.uint8) for _ in range(3))
    a[:, :20], b[:, 22:42], c[:, 44:] = 200, 200, 200  # three "scenes" with disjoint content
    path = make_video("scenes.mkv", [a] * 5 + [b] * 5 + [c] * 5, codec="ffv1", pix_fmt="yuv444p")
    clip = load_clip(path, strategy="cosine", threshold=0.95, size=16)
    assert clip.indices.tolist() == [0, 5, 10]
    assert load_clip(path, strategy="cosine", threshold=0.95, size=16, max_frames=2).indices.tolist() == [0, 5]


def test_load_clip_short_video_uniform_returns_all(make_video) -> None:
    path = make_video("short.mp4", make_frames(5))
    clip = load_clip(path, strategy="uniform", num_frames=8, size=16)
    assert clip.indices.tolist() == [0, 1, 2, 3, 4] and clip.frames.shape == (5, 16, 16, 3)


def test_load_clip_errors(basic_mp4: Path) -> None:
    with pytest.raises(VideoError, match=r"basic.mp4.*time range \[30s, end\) contains no frames"):
        load_clip(basic_mp4, start=30.0, strategy="uniform")
    with pytest.raises(VideoError, match=r"basic.mp4.*no decodable frames in time range"):
        load_clip(basic_mp4, start=30.0, strategy="all")
    with pytest.raises(VideoError, match="basic.mp4.*strategy"):
        load_clip(basic_mp4, strategy="random")
    with pytest.raises(VideoError, match="basic.mp4.*num_frames"):
        load_clip(basic_mp4, strategy="uniform", num_frames=0)
    with pytest.raises(VideoError, match="basic.mp4.*step"):
        load_clip(basic_mp4, strategy="step", step=-1)
    with pytest.raises(VideoError, match="basic.mp4.*size"):
        load_clip(basic_mp4, size=0)


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("dmg.mp4", {}),
        ("dmg.ts", {"fmt": "mpegts"}),
        ("dmg.avi", {"codec": "mjpeg", "pix_fmt": "yuvj420p"}),
    ],
)
def test_damage_in_the_middle_does_not_end_the_clip(make_video, vdir: Path, frames60, name, kwargs) -> None:
    src = make_video("src_" + name, frames60, **kwargs)
    path = damage(src, vdir / name, at=0.5, nbytes=2000)
    warnings: list[str] = []
    nums = [frame_number(f) for _, _, f in iter_frames(path, warnings=warnings)]
    assert 45 <= len(nums) < 60
    assert nums[-1] == 59  # frames after the damage are still returned
    assert warnings and all(w.startswith(str(path)) for w in warnings)
    assert len(load_clip(path, strategy="uniform", num_frames=8, size=16).indices) == 8
    clip = load_clip(path, strategy="all", size=16)
    assert clip.warnings and len(clip.indices) == len(nums)
    first, last = _numbers(read_frames(path, [0, probe(path).frames - 1]))
    # (AVI renumbers frames after lost chunks, so the last index may not be frame 59 there)
    assert first == 0 and last >= 50


def test_portrait_phone_video_is_rotated_upright(make_video) -> None:
    frames = make_frames(10, 48, 64)
    path = make_video("phone_dec.mp4", frames, rotation=-90)  # stored landscape, shown portrait
    out = list(iter_frames(path))
    assert out[0][2].shape == (64, 48, 3)
    # displayed = stored turned 90 degrees clockwise: turning back must restore the stripe on top
    assert [frame_number(np.rot90(f, k=1)) for _, _, f in out] == list(range(10))
    assert read_frames(path, [3]).shape == (1, 64, 48, 3)
    assert load_clip(path, strategy="uniform", num_frames=2, size=16).frames.shape == (2, 16, 16, 3)


def test_first_stream_audio(make_video, frames60) -> None:
    path = make_video("audio_first_dec.mp4", frames60[:20], audio_first=True)
    assert _numbers(f for _, _, f in iter_frames(path)) == list(range(20))
    assert _numbers(read_frames(path, [15, 2])) == [15, 2]


def test_nonzero_start_time(make_video, frames60) -> None:
    path = make_video("late_dec.mkv", frames60[:20], pts_ms=[2000 + 40 * i for i in range(20)])
    out = list(iter_frames(path, start=0.4, end=0.6))
    assert [t for _, t, _ in out] == pytest.approx([0.4, 0.44, 0.48, 0.52, 0.56])
    assert _numbers(f for _, _, f in out) == [10, 11, 12, 13, 14]
    assert _numbers(read_frames(path, [1], start=0.4)) == [11]


def test_variable_frame_rate_samples_by_timestamp(make_video, frames60) -> None:
    pts = [0, 40, 80, 120, 500, 520, 540, 560, 1000, 1100]
    path = make_video("vfr_dec.mkv", frames60[:10], pts_ms=pts)
    out = list(iter_frames(path))
    assert [t for _, t, _ in out] == pytest.approx([p / 1000 for p in pts])
    inside = list(iter_frames(path, start=0.5, end=0.6))
    assert _numbers(f for _, _, f in inside) == [4, 5, 6, 7]
    assert _numbers(read_frames(path, [1, 3], start=0.5, end=0.6)) == [5, 7]
    clip = load_clip(path, start=0.1, duration=1.0, strategy="all", size=16)
    assert clip.times.tolist() == pytest.approx([0.12, 0.5, 0.52, 0.54, 0.56, 1.0])


def test_ten_bit_decodes_to_8bit_rgb(make_video, frames60) -> None:
    require_encoder("libx264")
    path = make_video("tenbit_dec.mp4", frames60[:12], pix_fmt="yuv420p10le")
    frames = [f for _, _, f in iter_frames(path)]
    assert frames[0].dtype == np.uint8 and frames[0].shape == (48, 64, 3)
    assert _numbers(frames) == list(range(12))
    assert np.abs(frames[5].astype(int) - frames60[5].astype(int)).mean() < 15


def test_grey_video_comes_out_as_rgb(make_video) -> None:
    frames = make_frames(6, gray=True)
    path = make_video("grey_dec.mkv", frames, codec="ffv1", pix_fmt="gray")
    out = [f for _, _, f in iter_frames(path)]
    assert out[0].shape == (48, 64, 3)
    assert np.array_equal(out[2][:, :, 0], out[2][:, :, 2])
    assert np.array_equal(out[2][:, :, 0], frames[2][:, :, 0])  # ffv1 is lossless
    assert load_clip(path, strategy="all", size=8).frames.shape == (6, 8, 8, 3)


def test_odd_dimensions(make_video) -> None:
    frames = make_frames(6, 47, 63)
    path = make_video("odd_dec.mkv", frames, codec="ffv1", pix_fmt="yuv444p")
    out = [f for _, _, f in iter_frames(path)]
    assert out[0].shape == (47, 63, 3)
    assert np.abs(out[4].astype(int) - frames[4]).mean() < 3  # only RGB<->YUV rounding
    assert load_clip(path, strategy="uniform", num_frames=3, size=20).frames.shape == (3, 20, 20, 3)


@pytest.mark.parametrize(
    ("name", "codec", "decoder"),
    [
        ("av1.mkv", "libsvtav1", "av1"),
        ("vp9.webm", "libvpx-vp9", "vp9"),
        ("hevc.mp4", "libx265", "hevc"),
        ("mjpeg.avi", "mjpeg", "mjpeg"),
    ],
)
def test_codecs(make_video, frames60, name: str, codec: str, decoder: str) -> None:
    require_encoder(codec)
    pix = "yuvj420p" if codec == "mjpeg" else "yuv420p"
    path = make_video(name, frames60[:30], codec=codec, pix_fmt=pix)
    info = probe(path)
    assert info.codec.endswith(decoder) or decoder in info.codec
    assert info.frames == 30
    seq = np.stack([f for _, _, f in iter_frames(path)])
    assert _numbers(seq) == list(range(30))
    assert np.array_equal(read_frames(path, [25, 4]), seq[[25, 4]])


def test_raw_stream_without_timestamps(make_video, frames60) -> None:
    # a raw H.264 elementary stream has no timestamps and cannot seek: frames are 1/fps apart
    path = make_video("raw.h264", frames60[:30], fmt="h264")
    assert probe(path).frames == 30
    out = list(iter_frames(path, start=0.5, end=0.7))
    assert _numbers(f for _, _, f in out) == [13, 14, 15, 16, 17]
    assert _numbers(read_frames(path, [20, 3, 29])) == [20, 3, 29]
    assert _numbers(read_frames(path, [0, 4], start=0.5, end=0.7)) == [13, 17]
    assert load_clip(path, strategy="uniform", num_frames=3, size=8).indices.tolist() == [0, 10, 20]


def test_sparse_read_skips_gops_and_stops_early(basic_mp4: Path, monkeypatch) -> None:
    import actionlab.video.decode as dec

    decoded = []
    original = dec._decode

    def counting(*args, **kwargs):
        for frame in original(*args, **kwargs):
            decoded.append(frame.pts)
            yield frame

    monkeypatch.setattr(dec, "_decode", counting)
    read_frames(basic_mp4, [50])  # keyframes every 12 frames: seek to 48, decode 48..50
    assert 1 <= len(decoded) <= 5
    decoded.clear()
    read_frames(basic_mp4, [2, 5])  # first GOP: decode from the start, stop after frame 5
    assert len(decoded) <= 8
    decoded.clear()
    list(iter_frames(basic_mp4, start=2.0))  # one seek to the keyframe before 2.0s (frame 48)
    assert len(decoded) <= 14


def test_unexpected_failures_become_videoerror(basic_mp4: Path, monkeypatch) -> None:
    import actionlab.video.decode as dec

    def broken(*args, **kwargs):
        raise RuntimeError("decoder surprise")

    monkeypatch.setattr(dec, "_scan", broken)
    with pytest.raises(VideoError, match=r"basic.mp4.*RuntimeError: decoder surprise.*re-export"):
        load_clip(basic_mp4, strategy="uniform")
    with pytest.raises(VideoError, match="basic.mp4"):
        read_frames(basic_mp4, [0])
    with pytest.raises(VideoError, match=r"basic.mp4.*crop_offset|basic.mp4.*offset"):
        load_clip(basic_mp4, crop_offset=(2.0, 0.0))


# --------------------------------------------------------------------------- iter_clip


_STRATEGIES = [
    {"strategy": "uniform", "num_frames": 7},
    {"strategy": "step", "step": 4},
    {"strategy": "large_step", "num_frames": 5},
    {"strategy": "cosine", "threshold": 0.99},
    {"strategy": "all", "max_frames": 40},
]


@pytest.mark.parametrize("kwargs", _STRATEGIES)
def test_iter_clip_is_ordered_and_equals_load_clip(basic_mp4: Path, kwargs) -> None:
    out = list(iter_clip(basic_mp4, size=16, **kwargs))
    clip = load_clip(basic_mp4, size=16, **kwargs)
    idx = [i for i, _, _ in out]
    assert idx == sorted(set(idx)) == clip.indices.tolist()
    assert np.array_equal(np.stack([f for _, _, f in out]), clip.frames)
    assert [t for _, t, _ in out] == clip.times.tolist()


def test_iter_clip_checks_arguments_before_decoding(basic_mp4: Path) -> None:
    with pytest.raises(VideoError, match="strategy"):
        iter_clip(basic_mp4, strategy="random")  # no next() needed
    stream = iter_clip(basic_mp4, start=30.0, strategy="all")
    with pytest.raises(VideoError, match="no decodable frames"):
        next(stream)


def test_stream_stays_ordered_when_sparse_reading_falls_back(basic_mp4: Path, monkeypatch) -> None:
    import actionlab.video.decode as dec

    original = dec._sparse

    def gives_up(*args, **kwargs):  # seeking turns out unreliable after two GOPs' worth
        for n, item in enumerate(original(*args, **kwargs)):
            if n == 3:
                raise dec._Fallback
            yield item

    monkeypatch.setattr(dec, "_sparse", gives_up)
    out = list(iter_clip(basic_mp4, strategy="step", step=7, size=16))
    assert [i for i, _, _ in out] == list(range(0, 60, 7))
    assert _numbers(f for _, _, f in iter_frames(basic_mp4)) == list(range(60))


def test_out_of_order_frames_are_an_error_not_a_silent_reorder(basic_mp4: Path, monkeypatch) -> None:
    import actionlab.video.decode as dec

    def shuffled(*args, **kwargs):
        yield 5, 0.2, np.zeros((16, 16, 3), np.uint8)
        yield 3, 0.1, np.zeros((16, 16, 3), np.uint8)

    monkeypatch.setattr(dec, "_iter_selected", shuffled)
    with pytest.raises(VideoError, match="frame 3 came after frame 5"):
        load_clip(basic_mp4, strategy="step", size=16)


def _plain_rgb(path: Path) -> list[np.ndarray]:
    """Upright RGB frames decoded with plain PyAV (the pre-FFmpeg-crop reference path)."""
    import av

    with av.open(str(path)) as c:
        return [rotate_frame(f.to_ndarray(format="rgb24"), f.rotation) for f in c.decode(video=0)]


@pytest.mark.parametrize(
    ("name", "hw", "rotation", "case"),
    [
        ("hd.mp4", (360, 640), None, (128, (0.0, 0.0))),
        ("hd_off.mp4", (360, 640), None, (112, (0.37, 0.0))),  # padded rgb rows
        ("hd_rot.mp4", (360, 640), -90, (96, (0.0, -0.6))),
        ("hd_rot90.mp4", (362, 642), 90, (64, (0.0, 0.41))),  # crop x not a multiple of 4
        ("up.mp4", (48, 64), None, (96, (0.5, 0.0))),  # enlarging: bilinear
    ],
)
def test_ffmpeg_crop_resize_matches_crop_resize(make_video, name, hw, rotation, case) -> None:
    size, offset = case
    frames = make_frames(6, *hw, seed=3)  # sharp texture and 8x8 blocks: a hard case
    path = make_video(name, frames, rotation=rotation)
    clip = load_clip(path, strategy="all", size=size, crop_offset=offset)
    want = np.stack([crop_resize(f, size, offset) for f in _plain_rgb(path)])
    assert clip.frames.shape == want.shape == (6, size, size, 3)
    _assert_close(clip.frames, want)


def test_set_decode_threads_caps_the_decoder(basic_mp4: Path, monkeypatch) -> None:
    import actionlab.video.decode as dec

    seen: list[int] = []
    original = dec._use_threads

    def spy(stream) -> None:
        original(stream)
        seen.append(stream.codec_context.thread_count)

    monkeypatch.setattr(dec, "_use_threads", spy)
    default = load_clip(basic_mp4, strategy="all", size=16)
    try:
        set_decode_threads(1)
        assert dec.get_decode_threads() == 1
        capped = load_clip(basic_mp4, strategy="all", size=16)
        assert seen[-1] == 1
    finally:
        set_decode_threads(None)
    assert dec.get_decode_threads() is None
    assert np.array_equal(capped.frames, default.frames)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="n:"):
            set_decode_threads(bad)
