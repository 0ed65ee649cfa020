"""Overlay video: the source frames with the current action label drawn on a band at the bottom.

The source is decoded lazily (one frame in memory, :func:`~actionlab.video.decode.iter_frames`)
and re-encoded with :func:`~actionlab.video.write.write_video`: H.264, yuv420p, even size,
+faststart (plays in a browser), written under a temporary name and renamed when complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from actionlab.video.decode import iter_frames
from actionlab.video.probe import probe
from actionlab.video.write import write_video

__all__ = ["Overlay", "band_height", "draw_label", "write_overlay"]

_BAND_FRACTION = 0.12  # band height as a fraction of the frame height
_MIN_BAND = 14  # pixels
_SHADE = 0.35  # the band keeps this fraction of the picture's brightness under the text

Segment = tuple[float, float, str, float]  # start s, end s, label, confidence
RGB = tuple[int, int, int]


def band_height(height: int) -> int:
    """Rows of the label band for a frame ``height`` rows high (the bottom rows are drawn on)."""
    return min(height, max(_MIN_BAND, round(height * _BAND_FRACTION)))


def draw_label(frame: np.ndarray, text: str, color: RGB = (255, 255, 255)) -> np.ndarray:
    """A copy of ``frame`` (RGB uint8) with a darkened band at the bottom, a ``color`` swatch and
    ``text`` in white, scaled to the band. Rows above the band are unchanged."""
    out = np.array(frame, dtype=np.uint8, copy=True)
    h, w = out.shape[:2]
    bh = band_height(h)
    top = h - bh
    out[top:] = (out[top:].astype(np.float32) * _SHADE).astype(np.uint8)
    pad = max(1, bh // 6)
    swatch = bh - 2 * pad
    cv2.rectangle(out, (pad, top + pad), (pad + swatch, h - 1 - pad), color, thickness=-1)
    if not text:
        return out
    font = cv2.FONT_HERSHEY_SIMPLEX
    thickness = max(1, bh // 24)
    (tw, th), base = cv2.getTextSize(text, font, 1.0, thickness)
    x = 2 * pad + swatch
    scale = min((bh - 2 * pad) / (th + base), max(w - x - pad, 1) / max(tw, 1))
    (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
    y = top + (bh + th) // 2
    cv2.putText(out, text, (x, y), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return out


def _lookup(segments: Sequence[Segment]) -> Callable[[float], Segment | None]:
    """The segment containing time t (start <= t < end; the last one includes its end)."""
    segs = sorted(segments, key=lambda s: s[0])
    starts = np.array([s[0] for s in segs], dtype=np.float64)

    def find(t: float) -> Segment | None:
        k = int(np.searchsorted(starts, t, side="right")) - 1
        if k < 0:
            return None
        s = segs[k]
        inside = t < s[1] or (k == len(segs) - 1 and t <= s[1] + 1e-6)
        return s if inside else None

    return find


def write_overlay(
    src: str | Path,
    dst: str | Path,
    segments: Sequence[Segment],
    *,
    colors: Mapping[str, tuple[float, ...]] | None = None,
    start: float | None = None,
    end: float | None = None,
    crf: int = 23,
) -> Path:
    """Write ``dst``: the frames of ``src`` (``start <= t < end`` seconds, default all) with the
    label and confidence of the segment at each frame's time drawn on a bottom band.

    ``segments`` are ``(start, end, label, confidence)`` in the decoder's time (seconds from
    the stream start), e.g. ``timeline.segments.itertuples(index=False)``. ``colors`` maps
    labels to RGB(A) in [0, 1] (matplotlib colours: the same as the timeline plot); frames
    outside every segment get an empty band. Same frame count, fps and (even) size as the
    source; the file appears only when complete.
    """
    info = probe(src)
    find = _lookup([(float(a), float(b), str(c), float(d)) for a, b, c, d in segments])
    palette = {k: tuple(int(round(255 * v)) for v in c[:3]) for k, c in (colors or {}).items()}

    def frames() -> Iterator[np.ndarray]:
        for _, t, rgb in iter_frames(src, start=start, end=end):
            seg = find(t)
            if seg is None:
                yield draw_label(rgb, "", (0, 0, 0))
            else:
                color = palette.get(seg[2], (255, 255, 255))
                yield draw_label(rgb, f"{seg[2]} {seg[3]:.2f}", color)  # type: ignore[arg-type]

    return write_video(dst, frames(), fps=info.fps if info.fps > 0 else 25.0, crf=crf)


@dataclass(frozen=True)
class Overlay:
    """An overlay video still to be written (what a node returns; a dataset's save writes it)."""

    source: str
    segments: Sequence[Segment]
    colors: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    def write(self, dst: str | Path) -> Path:
        """:func:`write_overlay` of ``source`` to ``dst``."""
        return write_overlay(self.source, dst, self.segments, colors=self.colors)
