"""Write frames as browser-playable H.264 mp4 through PyAV, and convert other videos to it."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from fractions import Fraction
from numbers import Real
from pathlib import Path

import av
import numpy as np

from actionlab.engine.atomic import atomic_path
from actionlab.video.errors import VideoError

__all__ = ["convert_to_mp4", "write_video"]

_TIME_BASE = Fraction(1, 90000)  # encoder clock when explicit timestamps are written
# FFmpeg muxer per final suffix: the file is written under a temporary name first, so the muxer
# cannot be guessed from the name it is written to
_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}


class _Mp4Writer:
    """Encodes RGB frames one at a time into a yuv420p mp4 (+faststart); pads odd sizes."""

    def __init__(
        self, path: Path, fps: float, crf: int, codec: str, *, timed: bool = False,
        target: Path | None = None,
    ) -> None:  # fmt: skip
        """``path`` names the video in messages; the bytes go to ``target`` (default ``path``)."""
        if (
            isinstance(fps, bool)
            or not isinstance(fps, Real)
            or not fps > 0
            or not math.isfinite(fps)
        ):
            raise VideoError(f"{path}: fps={fps!r} must be a positive number; pass e.g. fps=25.0.")
        self.path = path
        self.rate = Fraction(float(fps)).limit_denominator(1001)
        self.crf = crf
        self.codec = codec
        self.timed = timed
        self.stream = None
        self.shape: tuple[int, int] | None = None
        self.last_pts = -1
        target = path if target is None else target
        target.parent.mkdir(parents=True, exist_ok=True)
        suffix = path.suffix.lower()
        options = {"movflags": "+faststart"} if suffix in (".mp4", ".mov", ".m4v") else {}
        fmt = _MUXERS.get(suffix, suffix.lstrip(".") or None)
        self.container = av.open(str(target), mode="w", format=fmt, options=options)

    def _open_stream(self, h: int, w: int) -> None:
        try:
            stream = self.container.add_stream(self.codec, rate=self.rate)
        except (av.FFmpegError, ValueError) as err:
            raise VideoError(
                f"{self.path}: encoder {self.codec!r} is not available in this PyAV build ({err}); "
                "use codec='libx264'."
            ) from err
        stream.width, stream.height = w + w % 2, h + h % 2
        stream.pix_fmt = "yuv420p"
        # veryfast: ~3x faster than x264's default preset on noisy frames, same crf quality
        options = {"crf": str(self.crf), "preset": "veryfast"}
        if self.codec == "libx264":
            # x264's macroblock-tree rate control depends on uninitialised memory: the same
            # frames gave different bytes (pixels up to ~30 grey levels apart) from one call to
            # the next, in one process, even single-threaded and without B-frames. With
            # mbtree off the output is byte-identical (benchmarks: docs/benchmarks.md).
            options["x264-params"] = "mbtree=0"
        stream.options = options
        # one thread, on the codec context itself (PyAV also sizes its RGB->YUV conversion
        # from it): the output must not depend on the machine's core count
        stream.codec_context.thread_count = 1
        stream.codec_context.thread_type = av.codec.context.ThreadType.NONE
        if self.timed:
            stream.codec_context.time_base = _TIME_BASE
        self.stream = stream
        self.shape = (h, w)

    def add(self, frame: np.ndarray, t: float | None = None) -> None:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8:
            raise VideoError(
                f"{self.path}: frames must be uint8 RGB, got {frame.dtype}; convert with .astype(np.uint8)."
            )
        if frame.ndim == 2:
            frame = np.repeat(frame[..., None], 3, axis=2)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise VideoError(f"{self.path}: frames must be (H, W, 3) RGB, got shape {frame.shape}.")
        h, w = frame.shape[:2]
        if self.stream is None:
            self._open_stream(h, w)
        if (h, w) != self.shape:
            raise VideoError(
                f"{self.path}: frame of size {w}x{h} after frames of {self.shape[1]}x{self.shape[0]}; "
                "all frames of a video must have the same size (resize them first)."
            )
        stream = self.stream
        if (stream.height, stream.width) != (h, w):
            frame = np.pad(
                frame, ((0, stream.height - h), (0, stream.width - w), (0, 0)), mode="edge"
            )
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        if self.timed and t is not None:
            pts = max(int(round(t / _TIME_BASE)), self.last_pts + 1)
            vf.pts, vf.time_base = pts, _TIME_BASE
            self.last_pts = pts
        for packet in stream.encode(vf):
            self.container.mux(packet)

    def close(self) -> None:
        try:
            if self.stream is None:
                raise VideoError(
                    f"{self.path}: no frames to write; pass at least one (H, W, 3) frame."
                )
            for packet in self.stream.encode():
                self.container.mux(packet)
        finally:
            self.container.close()


def _encode(path: Path, fps: float, crf: int, codec: str, items: Iterable, *, timed: bool) -> Path:
    """Encode ``items`` under a temporary name next to ``path``, renamed to ``path`` on success:
    an interrupted or failed write never leaves a partial file under the final name."""
    writer = None
    try:
        with atomic_path(path) as tmp:
            writer = _Mp4Writer(path, fps, crf, codec, timed=timed, target=tmp)
            for item in items:
                if timed:
                    writer.add(item[1], item[0])
                else:
                    writer.add(item)
            writer.close()
    except BaseException as err:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.container.close()
        if isinstance(err, av.FFmpegError):
            raise VideoError(
                f"{path}: could not write video ({err}); check the folder is writable."
            ) from err
        raise
    return path


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float = 25.0,
    *,
    crf: int = 18,
    codec: str = "libx264",
) -> Path:
    """Write RGB uint8 frames (H, W, 3) to ``path`` as yuv420p H.264 (+faststart for browsers).

    Frames are consumed one by one (a generator keeps memory constant). Grey (H, W) frames are
    accepted. Odd sizes are padded by one edge pixel (yuv420p needs even dimensions).
    Returns ``path``; on failure no partial file is left behind.
    """
    return _encode(Path(path), fps, crf, codec, frames, timed=False)


def convert_to_mp4(src: str | Path, dst: str | Path | None = None, *, crf: int = 18) -> Path:
    """Re-encode any readable video (MOV, AVI, MKV, WebM, ...) to browser-playable H.264 mp4.

    Streams frame by frame (constant memory), applies the rotation metadata (the output is
    stored upright, no rotation flag), keeps each frame's timestamp (variable frame rate
    survives) and drops audio. ``dst`` defaults to ``src`` with a ``.mp4`` suffix, or
    ``<stem>_h264.mp4`` when ``src`` is already an .mp4. Damaged packets are skipped (logged).
    """
    from actionlab.video.decode import iter_frames
    from actionlab.video.probe import probe

    src = Path(src)
    if dst is None:
        dst = src.with_suffix(".mp4")
        if dst == src:
            dst = src.with_name(f"{src.stem}_h264.mp4")
    dst = Path(dst)
    if dst.resolve() == src.resolve():
        raise VideoError(f"{src}: dst is the source file itself; pass a different dst path.")
    info = probe(src)
    frames = ((t, rgb) for _, t, rgb in iter_frames(src))
    return _encode(dst, info.fps if info.fps > 0 else 25.0, crf, "libx264", frames, timed=True)
