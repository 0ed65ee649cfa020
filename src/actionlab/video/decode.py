"""Streaming decode: frames by time range, sparse reads by index, and the one-call ``load_clip``.

Conventions shared by every function here:

* the first VIDEO stream is used (stream 0 may be audio);
* times are seconds relative to the stream's start time (``VideoInfo.start_time``), taken from
  each frame's presentation timestamp, so variable-frame-rate files are handled correctly;
* a time range is ``start <= t < end`` (``end = start + duration`` when ``duration`` is given);
  indices count the frames inside the range, from 0, in presentation order;
* frames are RGB uint8 (H, W, 3), already rotated upright per the display-matrix metadata;
* damaged data never ends a clip early: a packet that fails to decode is skipped, and a message
  naming the file and the time is appended to ``warnings`` (and logged).

Threads: FFmpeg decodes with frame + slice threads, one per core by default. A process that runs
several workers caps them with :func:`set_decode_threads` (it also caps swscale's threads).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from numbers import Real
from pathlib import Path

import av
import av.container
import av.video.stream
import numpy as np
from av.video.reformatter import VideoReformatter

from actionlab.video.errors import VideoError, as_video_error
from actionlab.video.probe import MAX_READ_ERRORS, demux_packets, open_video
from actionlab.video.sampling import STRATEGIES, CosineSelector, sample_indices
from actionlab.video.transforms import (
    crop_resize,
    normalize_rotation,
    rotate_frame,
    square_crop_box,
)

__all__ = [
    "Clip",
    "get_decode_threads",
    "iter_clip",
    "iter_frames",
    "load_clip",
    "read_frames",
    "set_decode_threads",
]

log = logging.getLogger(__name__)

_EPS = 1e-6  # seconds; tolerance when comparing frame times with range bounds
_MAX_WARNINGS = 200  # per call; further messages are counted, not stored

# FFmpeg-native decoders that apply ``skip_frame`` to exactly the packet sent next (also with
# frame threads). External ones (libdav1d, ...) queue packets, so toggling it is not exact.
_SKIP_EXACT = {"h264", "hevc", "vp8", "vp9", "mpeg1video", "mpeg2video", "mpeg4"}

_LOCAL = threading.local()  # per-thread swscale converter (VideoReformatter is not thread-safe)

_Stream = av.video.stream.VideoStream
_Container = av.container.InputContainer

_THREADS: dict[str, int | None] = {"ffmpeg": None}  # None: FFmpeg's default (one per core)


def set_decode_threads(n: int | None) -> None:
    """Cap FFmpeg's threads for every video opened after this call, in this process.

    ``n`` sets the decoder's ``codec_context.thread_count`` (frame + slice threads) and the
    threads swscale / the crop-and-resize filter graph may use; ``None`` restores FFmpeg's
    default (one thread per core). The engine calls it in each worker process with its
    threads-per-worker so that workers x threads stays within the cores. Not per call: a
    process-wide setting, read when a video is opened.
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"n: expected an int >= 1 or None, got {n!r}.")
    _THREADS["ffmpeg"] = n


def get_decode_threads() -> int | None:
    """The cap set by :func:`set_decode_threads` (``None``: FFmpeg's default)."""
    return _THREADS["ffmpeg"]


def _use_threads(stream: _Stream) -> None:
    """Frame + slice threads for ``stream``'s decoder (before its first packet), capped."""
    stream.thread_type = "AUTO"
    if _THREADS["ffmpeg"] is not None:
        stream.codec_context.thread_count = _THREADS["ffmpeg"]


class _Warner:
    """Collects warnings for one call: appends to the caller's list and logs (capped)."""

    def __init__(self, path: str | Path, sink: list[str] | None) -> None:
        self.path = str(path)
        self.sink = sink
        self.count = 0

    def __call__(self, message: str) -> None:
        self.count += 1
        if self.count > _MAX_WARNINGS:
            return
        text = f"{self.path}: {message}"
        if self.count == _MAX_WARNINGS:
            text = f"{self.path}: too many warnings; further ones are not reported."
        if self.sink is not None:
            self.sink.append(text)
        log.warning(text)


class _Clock:
    """Converts between a stream's timestamps and seconds from the stream start."""

    def __init__(self, stream: _Stream) -> None:
        self.tb = float(stream.time_base) if stream.time_base else 1.0 / 90000
        self.origin = stream.start_time if stream.start_time is not None else 0
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        self.frame_s = 1.0 / float(rate) if rate else 1.0 / 25.0
        # AVI-like streams count frames in their timestamps: a jump means frames are missing
        self.ticks_are_frames = bool(rate and stream.time_base and rate * stream.time_base == 1)

    def seconds(self, pts: int) -> float:
        return (pts - self.origin) * self.tb

    def pts(self, seconds: float) -> int:
        return int(math.floor(seconds / self.tb + 1e-9)) + self.origin

    def at(self, pts: int | None) -> str:
        return "at unknown time" if pts is None else f"at t={self.seconds(pts):.3f}s"


def _resolve_range(
    path: str | Path, start: float | None, end: float | None, duration: float | None
) -> tuple[float, float]:
    """Validate a (start, end | duration) range in seconds; returns (t0, t1) with t1 maybe inf."""
    for name, value in (("start", start), ("end", end), ("duration", duration)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value)
        ):
            raise VideoError(
                f"{path}: {name}={value!r} is not a finite number of seconds; pass a float."
            )
    if end is not None and duration is not None:
        raise VideoError(
            f"{path}: both end={end} and duration={duration} given; pass only one of them."
        )
    t0 = float(start) if start is not None else 0.0
    if t0 < 0:
        raise VideoError(f"{path}: start={start} is negative; pass start >= 0 (seconds).")
    if duration is not None:
        if duration <= 0:
            raise VideoError(f"{path}: duration={duration} must be > 0 seconds.")
        return t0, t0 + float(duration)
    if end is not None:
        if end <= t0:
            raise VideoError(f"{path}: end={end} must be greater than start={t0}.")
        return t0, float(end)
    return t0, math.inf


def _describe_range(t0: float, t1: float) -> str:
    if t0 == 0 and math.isinf(t1):
        return "the whole video"
    return f"time range [{t0:g}s, {'end' if math.isinf(t1) else f'{t1:g}s'})"


def _decode(
    container: _Container,
    stream: _Stream,
    clock: _Clock,
    warn: _Warner,
    *,
    skip: Callable[[av.Packet], bool] | None = None,
    drain: Callable[[av.Packet], bool] | None = None,
) -> Iterator[av.VideoFrame]:
    """Demux and decode the stream packet by packet, yielding pictures in presentation order.

    A packet that fails to decode is skipped with a warning; a damaged stretch of the
    container is skipped by reading on. ``skip(packet)`` True lets the decoder drop that
    packet when nothing references it (``skip_frame=NONREF``): used for unwanted frames.
    ``drain(packet)`` True (asked after the packet is sent) ends the pass: the decoder is
    drained of the frames it holds, no further packet is read, and a seek must follow.
    """
    ctx = stream.codec_context
    skipping = False
    check_losses = skip is None and drain is None
    if ctx.name not in _SKIP_EXACT:
        skip = None
    if skip is not None:
        ctx.skip_frame = "DEFAULT"  # a previous pass may have left NONREF set
    sent = got = 0
    read_errors = 0
    while True:
        try:
            for packet in container.demux(stream):
                read_errors = 0
                if packet.size:
                    if packet.is_corrupt:
                        warn(
                            f"damaged data {clock.at(packet.pts)} (the demuxer flagged the packet corrupt)"
                        )
                    if skip is not None:
                        want = skip(packet)
                        if want != skipping:
                            ctx.skip_frame = "NONREF" if want else "DEFAULT"
                            skipping = want
                    if not skipping and not packet.is_discard:
                        sent += 1
                try:
                    frames = stream.decode(packet)
                except av.FFmpegError as err:
                    warn(f"skipped a packet {clock.at(packet.pts)} that failed to decode ({err})")
                    frames = []
                for frame in frames:
                    got += 1
                    if frame.is_corrupt:
                        warn(
                            f"frame {clock.at(frame.pts)} decoded with errors (damaged data concealed)"
                        )
                    yield frame
                if drain is not None and packet.size and drain(packet):
                    yield from _flush(stream, warn)
                    return
            break
        except av.FFmpegError as err:
            read_errors += 1
            warn(f"could not read the container ({err}); skipping the damaged part")
            if read_errors >= MAX_READ_ERRORS:
                warn(f"gave up after {read_errors} read errors; the rest of the file is unreadable")
                yield from _flush(stream, warn)
                return
    if check_losses and got < sent:
        warn(f"{sent - got} of {sent} packets produced no picture (damaged or undecodable data)")


def _flush(stream: _Stream, warn: _Warner) -> list[av.VideoFrame]:
    """Drain the decoder: the frames it still holds (reordering, frame threads)."""
    try:
        return stream.decode(None)
    except av.FFmpegError as err:
        warn(f"could not drain the decoder ({err})")
        return []


def _frame_time(frame: av.VideoFrame, clock: _Clock, last: float | None) -> float:
    ts = frame.pts if frame.pts is not None else frame.dts
    if ts is not None:
        return clock.seconds(ts)
    return 0.0 if last is None else last + clock.frame_s


_NOTIMESTAMPS = 0x80  # AVFMT_NOTIMESTAMPS: raw streams (.h264, ...) carry no timestamps


def _seekable(container: _Container, stream: _Stream) -> bool:
    """Whether seeking by timestamp can work (it fails, and may spoil the reader, on raw streams)."""
    return stream.start_time is not None and not (container.format.flags & _NOTIMESTAMPS)


def _sequential(
    path: str | Path, t0: float, t1: float, *, warn: _Warner
) -> Iterator[tuple[float, av.VideoFrame]]:
    """Yield (t, frame) for t0 <= t < t1: one seek to the keyframe before t0, then forward.

    Opens the file itself (frame threads on). If the seek lands after ``t0`` or cannot be
    checked (frames without timestamps), it decodes from the beginning instead.
    """
    for attempt in range(2):
        with open_video(path) as (container, stream):
            _use_threads(stream)
            clock = _Clock(stream)
            seeked = False
            if attempt == 0 and t0 > 0 and _seekable(container, stream):
                try:
                    container.seek(clock.pts(t0), stream=stream, backward=True)
                    seeked = True
                except av.FFmpegError:
                    continue  # a failed seek may leave the reader anywhere: reopen

            def before_start(packet: av.Packet, clock: _Clock = clock) -> bool:
                return packet.pts is not None and clock.seconds(packet.pts) < t0 - _EPS

            first = True
            last: float | None = None
            last_pts: int | None = None
            skip = before_start if t0 > 0 else None
            for frame in _decode(container, stream, clock, warn, skip=skip):
                t = _frame_time(frame, clock, last)
                untimed = frame.pts is None and frame.dts is None
                if first and seeked and (untimed or t > t0 + _EPS):
                    # the seek landed after `start`, or frames carry no time to tell where
                    # it landed: decode from the beginning instead
                    break
                first = False
                last = t
                if t < t0 - _EPS:
                    continue
                if t >= t1 - _EPS:
                    return
                if clock.ticks_are_frames and frame.pts is not None:
                    if last_pts is not None and frame.pts - last_pts > 1:
                        warn(
                            f"{frame.pts - last_pts - 1} frame(s) missing before t={t:.3f}s (damaged or dropped data)"
                        )
                    last_pts = frame.pts
                yield t, frame
            else:
                return


class _Rgb:
    """Converts decoded frames to upright RGB arrays (rotation read from the first frame)."""

    def __init__(self) -> None:
        self.rotation: int | None = None
        # frame.to_ndarray() would set up swscale for every frame; one converter per thread,
        # kept across calls, is reused as long as the frame geometry stays the same
        if not hasattr(_LOCAL, "reformatter"):
            _LOCAL.reformatter = VideoReformatter()
        self.reformatter = _LOCAL.reformatter

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        if self.rotation is None:
            self.rotation = normalize_rotation(frame.rotation)
        rgb = self.reformatter.reformat(
            frame, format="rgb24", threads=_THREADS["ffmpeg"] or 0
        ).to_ndarray()
        if self.rotation:
            return rotate_frame(rgb, self.rotation)
        return np.ascontiguousarray(rgb)  # a view with row padding for some widths: copy those


def _stored_box(k: int, h: int, w: int, box: tuple[int, int, int]) -> tuple[int, int]:
    """Top-left (x, y), in the STORED picture (h x w), of the upright square (x0, y0, s).

    ``k`` quarter turns counter-clockwise (``np.rot90(stored, k)``) make the picture upright.
    """
    x0, y0, s = box
    if k == 1:
        return w - y0 - s, x0
    if k == 2:
        return w - x0 - s, h - y0 - s
    if k == 3:
        return y0, h - x0 - s
    return x0, y0


class _Shrink:
    """Decoded frame -> upright, square-cropped (size, size, 3) RGB uint8, inside FFmpeg.

    One filter graph per frame geometry: crop the decoded YUV picture (a pointer shift), then
    one swscale pass resizes and converts to rgb24 (``area`` when shrinking, like OpenCV's
    INTER_AREA, ``bilinear`` when enlarging; full chroma interpolation and accurate rounding).
    Against ``crop_resize(full_frame_rgb, size, offset)`` (the former path) pixels differ by
    about 1 level on average (a few at sharp colour edges). Cost at 1080p: about a third of
    the former path, which converted the whole frame to RGB and resized it with OpenCV
    (about 5 ms per frame for INTER_AREA alone). Frames a filter graph cannot take use the
    former path.
    """

    def __init__(self, size: int, offset: tuple[float, float]) -> None:
        self.size = int(size)
        self.offset = offset
        self.rotation: int | None = None
        self.key: tuple[object, ...] | None = None
        self.graph: av.filter.Graph | None = None
        self.fallback = _Rgb()

    def _build(self, frame: av.VideoFrame, k: int) -> av.filter.Graph | None:
        h, w = frame.height, frame.width
        uh, uw = (w, h) if k % 2 else (h, w)
        box = square_crop_box(uh, uw, self.offset)
        side = box[2]
        sx, sy = _stored_box(k, h, w, box)
        flags = ("area" if side > self.size else "bilinear") + "+accurate_rnd+full_chroma_int"
        tb = frame.time_base or Fraction(1, 1000)
        try:
            graph = av.filter.Graph()
            graph.threads = _THREADS["ffmpeg"] or 0
            nodes = [
                graph.add(
                    "buffer",
                    f"video_size={w}x{h}:pix_fmt={frame.format.name}:"
                    f"time_base={tb.numerator}/{tb.denominator}:pixel_aspect=1/1:"
                    f"colorspace={int(frame.colorspace)}:range={int(frame.color_range)}",
                ),
                graph.add("crop", f"w={side}:h={side}:x={sx}:y={sy}:exact=1"),
                graph.add("scale", f"w={self.size}:h={self.size}:flags={flags}"),
                graph.add("format", "rgb24"),
                graph.add("buffersink"),
            ]
            for a, b in pairwise(nodes):
                a.link_to(b)
            graph.configure()
        except (av.FFmpegError, ValueError, TypeError) as err:
            log.debug("no filter graph for %s frames (%s); converting in Python", frame.format, err)
            return None
        return graph

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        if self.rotation is None:
            self.rotation = normalize_rotation(frame.rotation)
        k = self.rotation // 90
        key = (frame.width, frame.height, frame.format.name, frame.colorspace, frame.color_range)
        if key != self.key:
            self.key, self.graph = key, self._build(frame, k)
        if self.graph is None:
            return crop_resize(self.fallback(frame), self.size, self.offset)
        self.graph.vpush(frame)
        small = self.graph.vpull().to_ndarray()
        if k:
            small = np.rot90(small, k=k)
        return np.ascontiguousarray(small)  # rows may be padded (e.g. size 112)


def iter_frames(
    path: str | Path,
    *,
    start: float | None = None,
    end: float | None = None,
    duration: float | None = None,
    warnings: list[str] | None = None,
) -> Iterator[tuple[int, float, np.ndarray]]:
    """Stream ``(index_within_range, t_seconds, rgb)`` for every frame with start <= t < end.

    Decodes packet by packet (memory: one frame); see the module docstring for conventions.
    An empty range yields nothing. Damaged packets are skipped and reported in ``warnings``.
    """
    t0, t1 = _resolve_range(path, start, end, duration)
    warn = _Warner(path, warnings)
    to_rgb = _Rgb()
    with as_video_error(path):
        for index, (t, frame) in enumerate(_sequential(path, t0, t1, warn=warn)):
            yield index, t, to_rgb(frame)


# --------------------------------------------------------------------------- sparse reading


@dataclass
class _Table:
    """Presentation timestamps of all frames (sorted) and of the keyframes, from demuxing."""

    pts: np.ndarray
    keys: np.ndarray
    reliable: bool  # every packet had a unique pts
    count: int  # video packets (frames), with or without pts


def _scan(container: _Container, stream: _Stream) -> _Table:
    """Read every video packet's timestamp and keyframe flag (demux only, no decode)."""
    pts: list[int] = []
    keys: list[int] = []
    reliable = True
    count = 0
    for packet in demux_packets(container, stream):
        count += 1
        if packet.pts is None:
            reliable = False
            continue
        pts.append(packet.pts)
        if packet.is_keyframe:
            keys.append(packet.pts)
    arr = np.sort(np.asarray(pts, dtype=np.int64))
    if len(arr) and np.any(np.diff(arr) == 0):
        reliable = False
    return _Table(arr, np.sort(np.asarray(keys, dtype=np.int64)), reliable, count)


class _Fallback(Exception):
    """Timestamps or seeking cannot be trusted: read sequentially instead."""


def _sparse(
    container: _Container,
    stream: _Stream,
    clock: _Clock,
    table: _Table,
    wanted: list[tuple[int, int]],
    *,
    warn: _Warner,
    at_start: bool = True,
) -> Iterator[tuple[int, float, av.VideoFrame]]:
    """Yield (index, t, frame) for ``wanted`` = sorted [(pts, index)], forward only.

    Wanted frames are grouped by the keyframe (GOP) they depend on. For each group: seek
    once to its keyframe (not for the first GOP), decode forward letting the decoder drop
    non-reference frames nobody wants, and stop reading as soon as the group's last wanted
    packet is sent (the decoder is drained). No frame is decoded twice and nothing is
    converted to RGB except the wanted frames. A wanted frame that cannot be decoded is
    replaced by the nearest earlier decoded frame, with a warning. ``at_start`` False: the
    container was read before (e.g. by a scan), so the first GOP is sought too.
    """
    known = set(table.pts.tolist())
    keys = table.keys
    first_key = int(keys[0]) if len(keys) else None
    groups: dict[int | None, list[tuple[int, int]]] = {}
    for p, i in wanted:
        k = int(np.searchsorted(keys, p, side="right")) - 1
        kf = int(keys[k]) if k >= 0 else None
        groups.setdefault(first_key if kf is None else kf, []).append((p, i))

    prev: av.VideoFrame | None = None
    for number, (kf, items) in enumerate(groups.items()):
        seeked = number > 0 or not at_start or (kf is not None and kf != first_key)
        if seeked:
            try:
                container.seek(kf if kf is not None else clock.origin, stream=stream, backward=True)
            except av.FFmpegError as err:
                raise _Fallback from err
        remaining = deque(items)
        pending = {p for p, _ in items}

        def unwanted(packet: av.Packet, pending: set[int] = pending) -> bool:
            return packet.pts is not None and packet.pts not in pending

        def all_sent(packet: av.Packet, pending: set[int] = pending) -> bool:
            pending.discard(packet.pts)
            return not pending

        first = True
        for frame in _decode(container, stream, clock, warn, skip=unwanted, drain=all_sent):
            p = frame.pts
            if p is None or p not in known:
                raise _Fallback
            if first and seeked and p > items[0][0]:
                raise _Fallback  # the seek landed after the wanted frame
            first = False
            while remaining and remaining[0][0] < p:
                w, i = remaining.popleft()
                warn(
                    f"frame {i} {clock.at(w)} could not be decoded; using the nearest earlier frame"
                )
                yield i, clock.seconds(w), prev if prev is not None else frame
            if remaining and remaining[0][0] == p:
                _, i = remaining.popleft()
                yield i, clock.seconds(p), frame
            prev = frame
            if not remaining:
                break
        if remaining:
            if seeked and first:
                raise _Fallback  # nothing decodable after the seek point
            if prev is None:
                return
            for w, i in remaining:
                warn(f"frame {i} {clock.at(w)} could not be decoded; using the last decoded frame")
                yield i, clock.seconds(w), prev


def _iter_selected(
    path: str | Path,
    t0: float,
    t1: float,
    warn: _Warner,
    choose: Callable[[int], np.ndarray],
    *,
    convert: Callable[[av.VideoFrame], np.ndarray] | None = None,
) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield (index, t, convert(frame)) for the indices ``choose(total_in_range)`` picks.

    Indices come out sorted and unique (in increasing order: each GOP group is decoded forward
    in turn and a fallback only continues past what was yielded). ``convert`` defaults to
    upright full-size RGB. The count comes from a demux-only scan; decoding is a single
    forward pass that stops after the last wanted frame.
    """
    to_rgb = convert if convert is not None else _Rgb()
    done: set[int] = set()
    with open_video(path) as (container, stream):
        clock = _Clock(stream)
        table = _scan(container, stream)
        if table.reliable:
            secs = (table.pts - clock.origin) * clock.tb
            in_range = table.pts[(secs >= t0 - _EPS) & (secs < t1 - _EPS)]
            total = len(in_range)
        else:  # no timestamps (raw streams): frames are 1/fps apart, as _frame_time assumes
            secs = np.arange(table.count) * clock.frame_s
            total = int(np.count_nonzero((secs >= t0 - _EPS) & (secs < t1 - _EPS)))
        chosen = np.unique(np.asarray(choose(total), dtype=np.int64))
        if len(chosen) == 0:
            return
        if table.reliable and _seekable(container, stream):
            wanted = [(int(in_range[i]), int(i)) for i in chosen]
            # the scan read no picture, so the decoder is not open yet: threads can still be set
            _use_threads(stream)
            try:
                for i, t, frame in _sparse(
                    container, stream, clock, table, wanted, warn=warn, at_start=False
                ):
                    done.add(i)
                    yield i, t, to_rgb(frame)
                return
            except _Fallback:
                pass
    # Timestamps or seeking unreliable: count frames in one sequential pass instead.
    want = set(chosen.tolist()) - done
    last = max(want) if want else -1
    got: tuple[int, float, np.ndarray] | None = None
    for index, (t, frame) in enumerate(_sequential(path, t0, t1, warn=warn)):
        if index in want:
            got = (index, t, to_rgb(frame))
            want.discard(index)
            yield got
        if index >= last:
            break
    for i in sorted(want):
        if got is None:
            break
        warn(
            f"frame {i} could not be decoded (the file has fewer decodable frames); using frame {got[0]}"
        )
        yield i, got[1], got[2]


def _check_indices(path: str | Path, indices: Sequence[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(indices)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise VideoError(
            f"{path}: indices must be a 1-D sequence of ints, got {arr.dtype} shape {arr.shape}."
        )
    return arr.astype(np.int64)


def read_frames(
    path: str | Path,
    indices: Sequence[int] | np.ndarray,
    *,
    start: float | None = None,
    end: float | None = None,
    duration: float | None = None,
    warnings: list[str] | None = None,
) -> np.ndarray:
    """Return the frames at ``indices`` (within the time range) as (len(indices), H, W, 3) uint8.

    Indices may be unsorted and repeated; frames come back in the order given. One forward
    decode pass that skips whole GOPs between wanted frames and stops after the last one.
    An index outside the range raises VideoError.
    """
    with as_video_error(path):
        idx = _check_indices(path, indices)
        t0, t1 = _resolve_range(path, start, end, duration)
        warn = _Warner(path, warnings)

        def choose(total: int) -> np.ndarray:
            bad = idx[(idx < 0) | (idx >= total)]
            if len(bad):
                raise VideoError(
                    f"{path}: frame index {int(bad[0])} is out of range; {_describe_range(t0, t1)} "
                    f"has {total} frames, so pass indices in [0, {total - 1}]."
                    if total
                    else f"{path}: {_describe_range(t0, t1)} contains no frames; check start/end."
                )
            return idx

        if len(idx) == 0:
            from actionlab.video.probe import probe

            info = probe(path)
            return np.zeros((0, info.height, info.width, 3), dtype=np.uint8)
        out: np.ndarray | None = None
        positions: dict[int, list[int]] = {}
        for pos, i in enumerate(idx.tolist()):
            positions.setdefault(i, []).append(pos)
        for i, _t, rgb in _iter_selected(path, t0, t1, warn, choose):
            if out is None:
                out = np.empty((len(idx), *rgb.shape), dtype=np.uint8)
            picture = rgb
            if picture.shape != out.shape[1:]:
                import cv2

                warn(
                    f"frame {i} has size {rgb.shape[1]}x{rgb.shape[0]}; resized to the first frame's size"
                )
                picture = cv2.resize(
                    rgb, (out.shape[2], out.shape[1]), interpolation=cv2.INTER_AREA
                )
            out[positions[i]] = picture
        if out is None:
            raise VideoError(
                f"{path}: no frame of {_describe_range(t0, t1)} could be decoded; the video data is "
                "damaged; re-export or re-download it."
            )
        return out


# --------------------------------------------------------------------------- load_clip


@dataclass
class Clip:
    """Preprocessed frames of one clip plus where they came from."""

    frames: np.ndarray  # (T, S, S, 3) uint8
    indices: np.ndarray  # int64 frame indices within the time range
    times: np.ndarray  # float64 seconds from the stream start
    warnings: list[str] = field(default_factory=list)


def iter_clip(
    path: str | Path,
    *,
    start: float | None = None,
    end: float | None = None,
    duration: float | None = None,
    strategy: str = "step",
    size: int = 128,
    crop_offset: tuple[float, float] = (0.0, 0.0),
    num_frames: int = 8,
    step: int = 2,
    max_frames: int | None = None,
    threshold: float = 0.9,
    warnings: list[str] | None = None,
) -> Iterator[tuple[int, float, np.ndarray]]:
    """Stream ``(index, t_seconds, frame)`` for the frames ``load_clip`` keeps, in index order.

    Same arguments and frames as :func:`load_clip` (``frame`` is (size, size, 3) uint8, upright,
    square-cropped and resized); memory holds one decoded frame, whatever the clip's length.
    Arguments are checked when this is called; decoding starts with the first ``next()``.
    Damaged-data messages go to ``warnings``. Zero frames kept -> VideoError (when exhausted).
    """
    with as_video_error(path):
        if strategy not in STRATEGIES:
            raise VideoError(
                f"{path}: strategy={strategy!r} is unknown; choose one of {', '.join(STRATEGIES)}."
            )
        try:
            crop_resize(np.zeros((2, 2, 3), np.uint8), size, crop_offset)
            if strategy == "cosine":
                CosineSelector(threshold)
            if max_frames is not None:
                sample_indices("all", 1, max_frames=max_frames)
        except ValueError as err:
            raise VideoError(f"{path}: {err}") from err
        t0, t1 = _resolve_range(path, start, end, duration)
    params = {"num_frames": num_frames, "step": step, "max_frames": max_frames}
    return _stream_clip(
        path,
        (t0, t1),
        strategy=strategy,
        params=params,
        shrink=_Shrink(size, crop_offset),
        threshold=threshold,
        warnings=warnings,
    )


def _stream_clip(
    path: str | Path,
    span: tuple[float, float],
    *,
    strategy: str,
    params: dict[str, int | None],
    shrink: _Shrink,
    threshold: float,
    warnings: list[str] | None,
) -> Iterator[tuple[int, float, np.ndarray]]:
    """The generator behind :func:`iter_clip` (arguments already checked)."""
    t0, t1 = span
    warn = _Warner(path, warnings)
    last = -1
    with as_video_error(path):
        if strategy in ("uniform", "step", "large_step"):

            def choose(total: int) -> np.ndarray:
                if total == 0:
                    raise VideoError(
                        f"{path}: {_describe_range(t0, t1)} contains no frames; check start/end/duration "
                        "against the video length (see probe())."
                    )
                try:
                    return sample_indices(strategy, total, **params)
                except ValueError as err:
                    raise VideoError(f"{path}: {err}") from err

            selected = _iter_selected(path, t0, t1, warn, choose, convert=shrink)
        else:
            selected = _iter_content(
                path, span, warn, shrink=shrink, strategy=strategy, threshold=threshold, params=params
            )
        for i, t, small in selected:
            if i <= last:  # _iter_selected guarantees order; a stream file cannot be re-sorted
                raise VideoError(
                    f"{path}: internal error: frame {i} came after frame {last}; report the file."
                )
            last = i
            yield i, t, small
        if last < 0:
            raise VideoError(
                f"{path}: no decodable frames in {_describe_range(t0, t1)}; check start/end/duration "
                "against the video length (see probe()), or re-export the video if it is damaged."
            )


def _iter_content(
    path: str | Path,
    span: tuple[float, float],
    warn: _Warner,
    *,
    shrink: _Shrink,
    strategy: str,
    threshold: float,
    params: dict[str, int | None],
) -> Iterator[tuple[int, float, np.ndarray]]:
    """``all`` and ``cosine``: one sequential pass, every frame shrunk, kept or not."""
    selector = CosineSelector(threshold) if strategy == "cosine" else None
    max_frames = params["max_frames"]
    kept = 0
    for i, (t, frame) in enumerate(_sequential(path, *span, warn=warn)):
        small = shrink(frame)
        if selector is not None and not selector.offer(small):
            continue
        yield i, t, small
        kept += 1
        if max_frames is not None and kept >= max_frames:
            return


def load_clip(
    path: str | Path,
    *,
    start: float | None = None,
    end: float | None = None,
    duration: float | None = None,
    strategy: str = "step",
    size: int = 128,
    crop_offset: tuple[float, float] = (0.0, 0.0),
    num_frames: int = 8,
    step: int = 2,
    max_frames: int | None = None,
    threshold: float = 0.9,
) -> Clip:
    """Decode the range once, sample frames by ``strategy`` and square-crop + resize them to ``size``.

    ``strategy``: ``"uniform"`` (``num_frames`` evenly spread; all frames when the range is
    shorter), ``"step"`` (every ``step``-th frame, at most ``max_frames``), ``"large_step"``
    (step ``total // num_frames``, ``num_frames`` frames), ``"all"`` (at most ``max_frames``) or
    ``"cosine"`` (keep a frame when its cosine similarity to the last kept one, computed on the
    resized frames, is below ``threshold``; at most ``max_frames``). Index strategies count the
    frames in the range by demuxing (no decode) and then decode once, skipping what they don't
    need. Frames are cropped/resized inside FFmpeg while streaming (see :func:`iter_clip`):
    memory holds the kept frames at ``size`` (in blocks, copied once into the result). For
    clips too long for memory use ``actionlab.video.clipfile.write_clip``. Warnings about
    damaged data are in ``Clip.warnings``. Zero frames in range -> VideoError.
    """
    warnings: list[str] = []
    stream = iter_clip(
        path,
        start=start,
        end=end,
        duration=duration,
        strategy=strategy,
        size=size,
        crop_offset=crop_offset,
        num_frames=num_frames,
        step=step,
        max_frames=max_frames,
        threshold=threshold,
        warnings=warnings,
    )
    blocks: list[np.ndarray] = []
    indices: list[int] = []
    times: list[float] = []
    block = np.empty((0, size, size, 3), np.uint8)
    for i, t, small in stream:
        if len(indices) % _BLOCK == 0:
            block = np.empty((_BLOCK, size, size, 3), np.uint8)
            blocks.append(block)
        block[len(indices) % _BLOCK] = small
        indices.append(i)
        times.append(t)
    frames = np.concatenate(blocks)[: len(indices)] if len(blocks) > 1 else blocks[0][: len(indices)]
    return Clip(
        frames=frames,
        indices=np.asarray(indices, dtype=np.int64),
        times=np.asarray(times, dtype=np.float64),
        warnings=warnings,
    )


_BLOCK = 64  # load_clip collects frames in blocks of this many (no per-frame arrays kept)
