"""Overlay video: the label band drawn on each frame, re-encoded for browsers."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from actionlab.synthetic import render_clip
from actionlab.video import VideoError, iter_frames, probe, write_video
from actionlab.video.overlay import band_height, draw_label, write_overlay

FPS = 10.0


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s at 10 fps: 2 s of `wave`, then 2 s of `squat`, 96 x 96 (even sizes)."""
    wave = render_clip("wave", seed=1, num_frames=20, size=96).frames
    squat = render_clip("squat", seed=2, num_frames=20, size=96).frames
    path = tmp_path_factory.mktemp("overlay") / "source.mp4"
    return write_video(path, [*wave, *squat], fps=FPS)


def test_draw_label_changes_the_band_only() -> None:
    frame = np.full((60, 80, 3), 200, np.uint8)
    out = draw_label(frame, "wave 0.91", (255, 0, 0))
    bh = band_height(60)
    assert bh == 14
    np.testing.assert_array_equal(out[: 60 - bh], frame[: 60 - bh])
    band = out[60 - bh :]
    assert band.max() == 255 and band.min() < 100  # white text on a darkened band
    assert (band == [255, 0, 0]).all(axis=2).sum() > 20  # the class swatch
    assert frame.max() == 200  # the input is not modified


def test_overlay_keeps_frames_and_size_and_draws_the_current_label(
    source: Path, tmp_path: Path
) -> None:
    segments = [(0.0, 2.0, "wave", 0.9), (2.0, 3.5, "squat", 0.8)]  # nothing after 3.5 s
    colors = {"wave": (1.0, 0.0, 0.0, 1.0), "squat": (0.0, 0.0, 1.0, 1.0)}
    out = write_overlay(source, tmp_path / "out" / "overlay.mp4", segments, colors=colors, crf=18)
    assert out == tmp_path / "out" / "overlay.mp4"
    assert [p.name for p in out.parent.iterdir()] == ["overlay.mp4"]  # no temporary left
    data = out.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # +faststart
    src_info, info = probe(source), probe(out)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.frames, info.width, info.height, info.fps) == (
        src_info.frames, src_info.width, src_info.height, src_info.fps,
    )  # fmt: skip
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"

    top = 96 - band_height(96)
    pairs = list(zip(iter_frames(source), iter_frames(out), strict=True))
    assert len(pairs) == 40
    for (_, t, before), (_, t_out, after) in pairs:
        assert t == pytest.approx(t_out)
        diff = np.abs(before.astype(np.int16) - after.astype(np.int16))
        # above the band (minus one 16-row macroblock for the encoder) only re-encoding noise
        assert diff[: top - 16].mean() < 4
        assert diff[top:].mean() > 25  # the band is darkened
    # the swatch at the band's left shows the current label's colour; empty after 3.5 s
    swatch = [after[top + 5 : -5, 4:8].reshape(-1, 3).mean(axis=0) for _, (_, _, after) in pairs]
    assert swatch[5][0] > 150 and swatch[5][1:].max() < 90  # red: wave
    assert swatch[25][2] > 150 and swatch[25][:2].max() < 90  # blue: squat
    assert swatch[38].max() < 90  # no segment: dark band, no swatch


def test_overlay_of_a_range_and_a_missing_source(source: Path, tmp_path: Path) -> None:
    out = write_overlay(source, tmp_path / "part.mp4", [(0.0, 4.0, "wave", 0.9)], start=1, end=2.5)
    assert probe(out).frames == 15
    with pytest.raises(VideoError, match="does not exist"):
        write_overlay(tmp_path / "nope.mp4", tmp_path / "x.mp4", [])
    assert not (tmp_path / "x.mp4").exists()
