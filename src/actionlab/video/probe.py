"""Probe a video file: container, codec, exact frame count, fps, display size, rotation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.container
import av.video.stream

from actionlab.video.errors import VideoError, as_video_error
from actionlab.video.transforms import normalize_rotation

__all__ = ["VideoInfo", "open_video", "probe"]

# FFmpeg demuxers that read single still images, not videos.
_IMAGE_DEMUXERS = {"image2", "image2pipe"}
# Read errors tolerated (each skips a damaged stretch) before a file is given up on.
MAX_READ_ERRORS = 20


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learns about a file's first video stream.

    ``container`` is FFmpeg's demuxer short name ('mov' for .mp4/.mov, 'matroska' for .mkv/.webm,
    'avi', 'mpegts', ...); ``codec`` the decoder name ('h264', 'hevc', 'vp9', 'av1', 'mjpeg', ...).
    ``frames`` is the exact number of frames stored in the stream; ``fps`` the average rate;
    ``duration`` the stream length in seconds; ``start_time`` the first timestamp in seconds
    (decode functions report times relative to it). ``width``/``height`` are the DISPLAY size,
    i.e. after applying ``rotation`` (degrees counter-clockwise, one of 0/90/180/270, FFmpeg
    display-matrix convention). ``pix_fmt`` is the decoded pixel format ('yuv420p', 'gray', ...).
    ``truncated`` says the file has fewer frames than its header lists (a cut-off copy, or an
    AVI whose writer overstated the length): ``frames`` then counts the frames that actually
    decode, ``duration`` is theirs, and ``warning`` says so in words (empty otherwise).
    """

    path: str
    container: str
    codec: str
    fps: float
    frames: int
    duration: float
    width: int
    height: int
    rotation: int
    start_time: float
    pix_fmt: str
    truncated: bool = False
    warning: str = ""


def _fail(path: str | Path, problem: str, fix: str) -> VideoError:
    return VideoError(f"{path}: {problem}. {fix}")


@contextlib.contextmanager
def open_video(
    path: str | Path,
) -> Iterator[tuple[av.container.InputContainer, av.video.stream.VideoStream]]:
    """Open ``path`` and yield (container, first video stream); every failure is a VideoError.

    Other streams (audio, subtitles, data) are set to be discarded by the demuxer.
    """
    p = Path(path)
    if not p.exists():
        raise _fail(p, "file does not exist", "Check the path (and the working directory).")
    if not p.is_file():
        raise _fail(p, "is not a regular file", "Pass the path of a video file, not a folder.")
    if p.stat().st_size == 0:
        raise _fail(p, "is empty (0 bytes)", "Re-copy or re-download the video; the file is empty.")
    try:
        container = av.open(str(p), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError, OSError) as err:
        raise _fail(
            p,
            f"cannot be opened as a video ({err})",
            "It is not a video, or it is damaged or truncated (e.g. an interrupted copy or "
            "recording); re-export or re-download it.",
        ) from err
    try:
        fmt = container.format.name.split(",")[0]
        if fmt in _IMAGE_DEMUXERS or fmt.endswith("_pipe"):
            raise _fail(
                p,
                f"is a still image ({fmt} demuxer), not a video",
                "Remove it from the video folder, or give it its real image extension.",
            )
        if not container.streams.video:
            kinds = ", ".join(s.type for s in container.streams) or "none"
            raise _fail(
                p,
                f"has no video stream (streams: {kinds})",
                "Use a file with a video track (audio-only files cannot be used).",
            )
        stream = container.streams.video[0]
        for other in container.streams:
            if other.index != stream.index:
                with contextlib.suppress(Exception):
                    other.discard = "ALL"
        yield container, stream
    finally:
        container.close()


def _first_frame(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> av.VideoFrame | None:
    """Decode until the first picture comes out; None when no packet decodes."""
    for packet in container.demux(stream):
        try:
            frames = stream.decode(packet)
        except av.FFmpegError:
            continue
        if frames:
            return frames[0]
    return None


def _count_mov_index(
    stream: av.video.stream.VideoStream, file_size: int
) -> tuple[int, int] | None:
    """(frames in the mp4/mov sample index whose bytes are in the file, frames listed); no I/O.

    None when the index cannot be trusted to be complete: it must list exactly the header's
    sample count (fragmented mp4 indexes its fragments lazily and reports no count).
    """
    try:
        entries = list(stream.index_entries)
    except Exception:
        return None
    if not stream.frames or len(entries) != stream.frames:
        return None
    listed = [e for e in entries if not e.is_discard and e.size > 0]
    if not listed:
        return None
    present = sum(1 for e in listed if e.pos + e.size <= file_size)
    return present, len(listed)


def demux_packets(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> Iterator[av.Packet]:
    """Every non-empty video packet of ``stream`` in file order (demux only, no decode).

    A damaged stretch that makes the demuxer raise is skipped and reading goes on after it, up
    to ``MAX_READ_ERRORS`` times.
    """
    for _attempt in range(MAX_READ_ERRORS):
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or packet.is_discard:
                    continue
                yield packet
            return
        except av.FFmpegError:
            continue


def _demux_count(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> tuple[int, int | None, int | None]:
    """Count video packets by demuxing (no decode); returns (count, min_pts, end_pts)."""
    count = 0
    lo: int | None = None
    hi: int | None = None
    for packet in demux_packets(container, stream):
        count += 1
        ts = packet.pts if packet.pts is not None else packet.dts
        if ts is not None:
            end = ts + (packet.duration or 0)
            lo = ts if lo is None else min(lo, ts)
            hi = end if hi is None else max(hi, end)
    return count, lo, hi


def _decode_count(p: Path) -> int:
    """Frames that decode from ``p`` (decodes the whole stream; damaged packets are skipped)."""
    count = 0
    with open_video(p) as (container, stream):
        for packet in demux_packets(container, stream):
            with contextlib.suppress(av.FFmpegError):
                count += len(stream.decode(packet))
        with contextlib.suppress(av.FFmpegError):
            count += len(stream.decode(None))
    return count


def probe(path: str | Path) -> VideoInfo:
    """Inspect ``path`` without decoding it (only the first picture is decoded).

    The frame count is exact: for mp4/mov it comes from the sample index (only samples whose
    bytes are present, so truncated files are counted right); for other containers, whose
    headers often lack or misreport it, packets are counted by demuxing (reads the file, no
    decode). A file with fewer frames than its header lists (cut short, or a header that
    overstates the length) is decoded once to count the frames that really decode, and is
    reported with ``truncated=True`` and a ``warning``. Raises VideoError for missing, empty,
    unreadable (e.g. an mp4 cut before its index), audio-only, still-image or undecodable files.
    """
    with as_video_error(path):
        return _probe(Path(path))


def _probe(p: Path) -> VideoInfo:
    """Body of :func:`probe` (which turns surprises into VideoError)."""
    with open_video(p) as (container, stream):
        fmt = container.format.name.split(",")[0]
        frame = _first_frame(container, stream)
        if frame is None:
            raise _fail(
                p,
                "contains no decodable video frame",
                "The video data is damaged or uses an unsupported codec; re-export the video "
                "(e.g. to H.264 mp4).",
            )
        rotation = normalize_rotation(frame.rotation)
        width, height = frame.width, frame.height
        pix_fmt = frame.format.name
        codec = stream.codec_context.name
        tb = stream.time_base
        start = stream.start_time
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        header_duration = float(stream.duration * tb) if (stream.duration and tb) else 0.0
        if not header_duration and container.duration:
            header_duration = container.duration / 1_000_000
        counted = _count_mov_index(stream, p.stat().st_size) if fmt == "mov" else None
        header_frames = int(stream.frames or 0)

    fps = float(rate) if rate else 0.0
    duration = header_duration
    if counted is not None:
        frames, listed = counted
    else:
        with open_video(p) as (container, stream):
            frames, lo, hi = _demux_count(container, stream)
        listed = header_frames
        if lo is not None and hi is not None and hi > lo and tb:
            duration = float((hi - (start if start is not None else lo)) * tb)
    truncated = 0 < frames < listed
    warning = ""
    if truncated:
        frames = min(frames, _decode_count(p))  # a packet cut short in the middle does not decode
        if fps > 0:
            duration = frames / fps
        warning = (
            f"{p}: the header lists {listed} frames but only {frames} decode (the file was cut "
            f"short, or its writer overstated the length); using the frames that decode."
        )
    if frames == 0:
        raise _fail(p, "contains no video frames", "Re-export or re-download the video.")
    if fps <= 0 and duration > 0:
        fps = frames / duration
    if duration <= 0 and fps > 0:
        duration = frames / fps
    if rotation in (90, 270):
        width, height = height, width
    return VideoInfo(
        path=str(p),
        container=fmt,
        codec=codec,
        fps=fps,
        frames=int(frames),
        duration=duration,
        width=width,
        height=height,
        rotation=rotation,
        start_time=float(start * tb) if (start is not None and tb) else 0.0,
        pix_fmt=pix_fmt,
        truncated=truncated,
        warning=warning,
    )
