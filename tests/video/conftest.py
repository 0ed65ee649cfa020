"""Fixtures that GENERATE small test videos with PyAV (never read files outside the repo).

Every generated frame carries its own number in binary in a top stripe of black/white 8x8
blocks, so tests can tell which frame a decoder returned even through lossy compression.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

STRIPE = 8  # rows of the frame-number stripe
BITS = 7  # frame numbers 0..127, one 8x8 black/white block per bit


def frame_number(rgb: np.ndarray) -> int:
    """Recover the frame number from a decoded upright RGB frame's top stripe."""
    bits = [rgb[2:6, 8 * j + 2 : 8 * j + 6].mean() > 128 for j in range(BITS)]
    return sum(1 << j for j, bit in enumerate(bits) if bit)


def make_frames(n: int, h: int = 48, w: int = 64, *, seed: int = 0, gray: bool = False) -> list[np.ndarray]:
    """``n`` textured, moving RGB frames of size (h, w) with a frame-number stripe on top."""
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (2 * h + 8, 2 * w + 8, 3), dtype=np.uint8), (5, 5), 0)
    frames = []
    for i in range(n):
        dy, dx = (3 * i) % h, (5 * i) % w
        f = texture[dy : dy + h, dx : dx + w].copy()
        f[:STRIPE] = 0
        for j in range(BITS):
            if i >> j & 1:
                f[:STRIPE, 8 * j : 8 * j + 8] = 255
        if gray:
            f[:] = f.mean(axis=2, keepdims=True).astype(np.uint8)
        frames.append(f)
    return frames


def write(
    path: Path,
    frames: Sequence[np.ndarray],
    *,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    fps: int = 25,
    options: dict[str, str] | None = None,
    pts_ms: Sequence[int] | None = None,
    rotation: int | None = None,
    audio_first: bool = False,
    fmt: str | None = None,
) -> Path:
    """Encode ``frames`` with PyAV. ``pts_ms`` gives explicit (e.g. VFR) timestamps in ms."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), mode="w", format=fmt) as container:
        audio = None
        if audio_first:
            audio = container.add_stream("aac", rate=16000)
            audio.layout = "mono"
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        opts = {"threads": "1"}
        if codec == "libx264":
            opts.update({"preset": "ultrafast", "g": "12", "bf": "2"})
        if codec == "libx265":
            opts.update({"preset": "ultrafast", "x265-params": "log-level=error:keyint=12"})
        if codec == "libsvtav1":
            opts = {"preset": "12", "g": "12"}
        if codec == "libvpx-vp9":
            opts.update({"deadline": "realtime", "cpu-used": "8", "g": "12"})
        opts.update(options or {})
        stream.options = opts
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        if audio is not None:
            samples = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono"
            )
            samples.sample_rate = 16000
            for k in range(int(len(frames) / fps * 16000 / 1024) + 1):
                samples.pts = k * 1024
                for packet in audio.encode(samples):
                    container.mux(packet)
            for packet in audio.encode():
                container.mux(packet)
        for i, f in enumerate(frames):
            if pix_fmt.startswith("gray"):
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f[:, :, 0]), format="gray")
            else:
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            if pts_ms is not None:
                vf.pts, vf.time_base = int(pts_ms[i]), Fraction(1, 1000)
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def damage(src: Path, dst: Path, *, at: float = 0.5, nbytes: int = 2000, seed: int = 1) -> Path:
    """Copy ``src`` to ``dst`` with ``nbytes`` random bytes overwritten at fraction ``at``."""
    data = bytearray(src.read_bytes())
    m = int(len(data) * at)
    data[m : m + nbytes] = np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return dst


def require_encoder(name: str) -> None:
    """Skip the test (with the reason) if this PyAV wheel lacks the encoder ``name``."""
    if name not in av.codecs_available:
        pytest.skip(f"encoder {name!r} is not in this PyAV wheel (av.codecs_available); cannot generate the sample")
    try:
        av.codec.Codec(name, "w")
    except Exception as err:
        pytest.skip(f"encoder {name!r} unusable in this PyAV wheel: {err}")


@pytest.fixture(scope="session")
def vdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="session")
def frames60() -> list[np.ndarray]:
    return make_frames(60)


@pytest.fixture(scope="session")
def basic_mp4(vdir: Path, frames60: list[np.ndarray]) -> Path:
    """60 frames 64x48 H.264 mp4, 25 fps, keyframe every 12 frames, B-frames."""
    return write(vdir / "basic.mp4", frames60)


@pytest.fixture(scope="session")
def make_video(vdir: Path) -> Callable[..., Path]:
    """Factory: make_video(name, frames, **write_kwargs) -> path inside the session temp dir."""

    def _make(name: str, frames: Sequence[np.ndarray], **kwargs: object) -> Path:
        return write(vdir / name, frames, **kwargs)

    return _make


@pytest.fixture(scope="session")
def reference(basic_mp4: Path) -> np.ndarray:
    """All frames of ``basic_mp4`` decoded with plain PyAV (independent of the video core)."""
    with av.open(str(basic_mp4)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def _patch_u32(data: bytearray, chunk: bytes, offset: int, value: int) -> bool:
    """Set the little-endian uint32 at ``offset`` inside every ``chunk`` (fourcc) chunk's data."""
    found, at = False, data.find(chunk)
    while at >= 0:
        pos = at + 8 + offset
        data[pos : pos + 4] = value.to_bytes(4, "little")
        found, at = True, data.find(chunk, at + 4)
    return found


def lie_about_length(src: Path, dst: Path, frames: int) -> Path:
    """Copy an AVI, claiming ``frames`` frames in its headers (avih dwTotalFrames, strh dwLength,
    OpenDML dmlh), as some capture tools leave them: every frame the file has is intact."""
    data = bytearray(src.read_bytes())
    assert _patch_u32(data, b"avih", 16, frames)
    assert _patch_u32(data, b"strh", 32, frames)
    _patch_u32(data, b"dmlh", 0, frames)
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="session")
def lying_avi(vdir: Path, frames60: list[np.ndarray]) -> Path:
    """A complete 30-frame MJPEG AVI whose headers claim 90 frames."""
    src = write(vdir / "lying_src.avi", frames60[:30], codec="mjpeg", pix_fmt="yuvj420p")
    return lie_about_length(src, vdir / "lying.avi", 90)


@pytest.fixture(scope="session")
def cut_mp4(vdir: Path, frames60: list[np.ndarray]) -> Path:
    """A 60-frame H.264 mp4 with its index first (+faststart) cut so that ~40 frames remain, as
    an interrupted download leaves it."""
    src = vdir / "cut_src.mp4"
    with av.open(str(src), "w", options={"movflags": "+faststart"}) as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.options = {"g": "12", "bf": "2", "preset": "ultrafast"}
        for f in frames60:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    with av.open(str(src)) as c:
        ends = sorted(p.pos + p.size for p in c.demux(video=0) if p.size)
    cut = vdir / "cut.mp4"
    cut.write_bytes(src.read_bytes()[: ends[39] + 10])  # 40 samples whole, the 41st cut short
    return cut
