"""Action timelines: windows over a long video, smoothed window probabilities, merged segments.

The path from a classifier's per-window output to a timeline (plain numpy/pandas, no model):

1. :func:`select_range` checks a ``start`` / ``end`` | ``duration`` selection against the video;
2. :func:`make_windows` lays windows of the training clip length over the selected frames, every
   ``stride`` frames, the last one aligned to the end (a selection shorter than one window gives
   one window: the whole selection);
3. the caller classifies each window (``probs``: (n_windows, n_classes));
4. :func:`build_timeline` smooths the probabilities over neighbouring windows, labels each window
   (optionally ``background`` when its best probability is below a threshold) and merges the
   windows into segments ``(start, end, label, confidence)`` in seconds.

Overlapping windows on the time axis: each window *owns* the part of the timeline nearer to its
centre than to any other window's centre. Window ``i`` owns ``[b(i-1), b(i))`` where ``b(i)`` is
the midpoint between the centres of windows ``i`` and ``i + 1``; the first window's span starts
at its own start and the last one's ends at its own end. With a regular stride that is the
centre stride of each window; the end-aligned last window (closer to its neighbour) owns less.
Segments therefore tile the selection without gaps or overlaps.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from actionlab.engine.atomic import atomic_path

__all__ = [
    "BACKGROUND",
    "SEGMENT_COLUMNS",
    "Timeline",
    "TimelineError",
    "Window",
    "build_timeline",
    "make_windows",
    "merge_segments",
    "range_frames",
    "read_segments_csv",
    "read_segments_json",
    "segments_to_records",
    "select_range",
    "smooth_probs",
    "window_spans",
    "write_segments_csv",
    "write_segments_json",
]

BACKGROUND = "background"  # label of windows whose best class probability is below the threshold
SEGMENT_COLUMNS = ("start", "end", "label", "confidence")  # seconds, seconds, str, [0, 1]
_EPS = 1e-6  # seconds; tolerance for range checks (frame times are rounded)


class TimelineError(ValueError):
    """Bad timeline input (a time range, a window length); the message names the option and fix."""


# --------------------------------------------------------------------------- time range


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise TimelineError(f"{name}={value!r} is not a finite number of seconds; pass a number.")
    return float(value)


def select_range(
    video_duration: float,
    start: float | None = None,
    end: float | None = None,
    duration: float | None = None,
    *,
    prefix: str = "--",
) -> tuple[float, float]:
    """Check ``start`` and ``end`` | ``duration`` (seconds) against the video; return (t0, t1).

    ``start`` defaults to 0 and the end to the video's end. Errors name the option as
    ``{prefix}start`` etc. (``--`` for the command line, ``inference.`` for Kedro parameters)
    and the valid range: both ``end`` and ``duration`` given, ``end <= start``, a non-positive
    ``duration``, a ``start`` outside the video, an end after the video's end.
    """
    total = _number("video duration", video_duration)
    if total <= 0:
        raise TimelineError(f"the video has no duration ({total:g} s); check that it has frames.")
    names = {k: f"{prefix}{k}" for k in ("start", "end", "duration")}
    if end is not None and duration is not None:
        raise TimelineError(
            f"both {names['end']}={end} and {names['duration']}={duration} given; pass only one."
        )
    t0 = 0.0 if start is None else _number(names["start"], start)
    if not 0 <= t0 < total:
        raise TimelineError(
            f"{names['start']}={t0:g} is outside the video; pass {names['start']} in "
            f"[0, {total:.3f}) seconds (the video lasts {total:.3f} s)."
        )
    if duration is not None:
        d = _number(names["duration"], duration)
        if d <= 0:
            raise TimelineError(f"{names['duration']}={d:g} must be > 0 seconds.")
        t1 = t0 + d
        if t1 > total + _EPS:
            raise TimelineError(
                f"{names['start']}={t0:g} + {names['duration']}={d:g} ends after the video "
                f"({total:.3f} s); pass {names['duration']} <= {total - t0:.3f}."
            )
        return t0, t1
    if end is not None:
        t1 = _number(names["end"], end)
        if t1 <= t0:
            raise TimelineError(
                f"{names['end']}={t1:g} must be greater than {names['start']}={t0:g}; pass "
                f"{names['end']} in ({t0:g}, {total:.3f}]."
            )
        if t1 > total + _EPS:
            raise TimelineError(
                f"{names['end']}={t1:g} is after the end of the video ({total:.3f} s); pass "
                f"{names['end']} in ({t0:g}, {total:.3f}]."
            )
        return t0, t1
    return t0, total


def range_frames(t0: float, t1: float, fps: float, total_frames: int) -> tuple[int, int]:
    """(first_frame, num_frames) of the frames ``i`` with ``t0 <= i / fps < t1`` (the decoder's
    convention for a time range), within the video's ``total_frames``."""
    if isinstance(fps, bool) or not isinstance(fps, Real) or not fps > 0 or math.isinf(fps):
        raise TimelineError(f"fps={fps!r} must be a positive number.")
    first = max(0, math.ceil(t0 * fps - 1e-6))
    stop = min(int(total_frames), math.ceil(t1 * fps - 1e-6))
    if stop <= first:
        raise TimelineError(
            f"the range [{t0:g} s, {t1:g} s) holds no frame of the video ({total_frames} frames "
            f"at {fps:g} fps); select a longer range."
        )
    return first, stop - first


# --------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class Window:
    """Frames ``[start_frame, end_frame)`` of the video; times are ``frame / fps`` seconds."""

    index: int
    start_frame: int
    end_frame: int
    fps: float

    @property
    def start(self) -> float:
        return self.start_frame / self.fps

    @property
    def end(self) -> float:
        return self.end_frame / self.fps

    @property
    def num_frames(self) -> int:
        return self.end_frame - self.start_frame


def _to_frames(name: str, value: float, fps: float, unit: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
        raise TimelineError(f"window {name}={value!r} must be a positive number of {unit}.")
    if unit == "frames":
        if float(value) != int(value):
            raise TimelineError(f"window {name}={value!r} must be a whole number of frames.")
        return int(value)
    return max(1, math.floor(float(value) * fps + 0.5))  # half up: 0.5 s at 25 fps -> 13


def make_windows(
    num_frames: int,
    fps: float,
    length: float,
    stride: float | None = None,
    *,
    unit: Literal["s", "frames"] = "s",
    first_frame: int = 0,
) -> list[Window]:
    """Windows of ``length`` every ``stride`` (default: ``length``, no overlap) over the frames.

    ``num_frames`` frames from ``first_frame`` (a selected range) are covered; ``length`` and
    ``stride`` are seconds (``unit="s"``, rounded to whole frames, at least one) or frames.
    Windows start at ``first_frame``, ``+ stride``, ...; when the last regular window does not
    reach the end, one more window aligned to the end is added. A range shorter than one
    window gives a single window over the whole range.
    """
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)):
        raise TimelineError(f"num_frames={num_frames!r} must be an int.")
    if num_frames < 1:
        raise TimelineError(f"the range has {num_frames} frames; select a range with frames.")
    if isinstance(fps, bool) or not isinstance(fps, Real) or not fps > 0 or math.isinf(fps):
        raise TimelineError(f"fps={fps!r} must be a positive number.")
    if unit not in ("s", "frames"):
        raise TimelineError(f"unit={unit!r} is unknown; use 's' or 'frames'.")
    size = _to_frames("length", length, fps, unit)
    step = size if stride is None else _to_frames("stride", stride, fps, unit)
    if size >= num_frames:
        return [Window(0, first_frame, first_frame + int(num_frames), float(fps))]
    starts = list(range(0, num_frames - size + 1, step))
    if starts[-1] + size < num_frames:
        starts.append(num_frames - size)
    return [
        Window(i, first_frame + s, first_frame + s + size, float(fps)) for i, s in enumerate(starts)
    ]


def window_spans(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The part of the timeline each window owns (see the module docstring): (own_start, own_end).

    Boundaries are the midpoints between consecutive window centres; the first span starts at
    the first window's start, the last ends at the last window's end.
    """
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)
    centres = (starts + ends) / 2
    if len(centres) > 1 and np.any(np.diff(centres) <= 0):
        raise TimelineError("windows must be sorted by time, with distinct centres.")
    bounds = (centres[:-1] + centres[1:]) / 2
    return np.concatenate([starts[:1], bounds]), np.concatenate([bounds, ends[-1:]])


# --------------------------------------------------------------------------- smoothing, merging


def smooth_probs(
    probs: np.ndarray, size: int = 1, method: Literal["mean", "median"] = "mean"
) -> np.ndarray:
    """Moving mean or median of each class's probability over ``size`` windows (centred).

    At the ends the window shrinks to the windows available. Rows are renormalised to sum to 1
    (a median need not). ``size`` 1 returns a copy.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
        raise TimelineError(f"probs must be (n_windows, n_classes), got shape {p.shape}.")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise TimelineError(f"smoothing size={size!r} must be an int >= 1 (windows).")
    if method not in ("mean", "median"):
        raise TimelineError(f"smoothing method={method!r} is unknown; use 'mean' or 'median'.")
    if size == 1:
        return p.copy()
    rolling = pd.DataFrame(p).rolling(int(size), center=True, min_periods=1)
    out = (rolling.mean() if method == "mean" else rolling.median()).to_numpy()
    total = out.sum(axis=1, keepdims=True)
    return np.divide(out, total, out=np.full_like(out, 1 / p.shape[1]), where=total > 0)


def _runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """[first, last + 1) index ranges of equal consecutive labels."""
    cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    edges = np.concatenate([[0], cuts, [len(labels)]])
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def merge_segments(
    labels: Sequence[str],
    scores: pd.DataFrame,
    own_start: np.ndarray,
    own_end: np.ndarray,
    *,
    min_duration: float = 0.0,
) -> pd.DataFrame:
    """Merge per-window labels into segments; absorb segments shorter than ``min_duration`` s.

    ``scores`` holds one column per label (including ``background`` when used) and one row per
    window: a segment's confidence is the mean of its label's column over its windows. A short
    segment (the shortest first, ties: the less confident) is relabelled to the neighbour whose
    label scores higher on the short segment's windows; repeated until every segment lasts at
    least ``min_duration`` or one segment is left.
    """
    lab = np.asarray(labels, dtype=object)
    own_start = np.asarray(own_start, dtype=np.float64)
    own_end = np.asarray(own_end, dtype=np.float64)
    while True:
        runs = _runs(lab)
        durations = [own_end[b - 1] - own_start[a] for a, b in runs]
        short = [k for k, d in enumerate(durations) if d < min_duration - _EPS]
        if not short or len(runs) == 1:
            break

        def confidence(k: int, runs: list[tuple[int, int]] = runs) -> float:
            a, b = runs[k]
            return float(scores[lab[a]].iloc[a:b].mean())

        k = min(short, key=lambda k: (durations[k], confidence(k)))
        a, b = runs[k]
        neighbours = [j for j in (k - 1, k + 1) if 0 <= j < len(runs)]
        best = max(neighbours, key=lambda j: float(scores[lab[runs[j][0]]].iloc[a:b].mean()))
        lab[a:b] = lab[runs[best][0]]
    rows = [
        (own_start[a], own_end[b - 1], str(lab[a]), float(scores[lab[a]].iloc[a:b].mean()))
        for a, b in _runs(lab)
    ]
    return pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS))


@dataclass
class Timeline:
    """Per-window results and the merged segments of one video (times in seconds)."""

    classes: list[str]
    windows: pd.DataFrame  # start, end, own_start, own_end, label, confidence
    probs: np.ndarray  # (n_windows, n_classes) as given
    smoothed: np.ndarray  # (n_windows, n_classes) after smoothing
    segments: pd.DataFrame  # SEGMENT_COLUMNS

    @property
    def centres(self) -> np.ndarray:
        return ((self.windows["start"] + self.windows["end"]) / 2).to_numpy()


def build_timeline(
    probs: np.ndarray,
    starts: Sequence[float] | np.ndarray,
    ends: Sequence[float] | np.ndarray,
    classes: Sequence[str],
    *,
    smoothing: int = 1,
    smoothing_method: Literal["mean", "median"] = "mean",
    min_duration: float = 0.0,
    background_threshold: float | None = None,
) -> Timeline:
    """Window probabilities -> smoothed -> per-window label and confidence -> merged segments.

    ``probs`` is (n_windows, n_classes) with rows summing to 1, ``starts``/``ends`` the
    windows' times in seconds (sorted), ``classes`` the column names. ``smoothing`` is the
    number of windows of the moving ``smoothing_method``. A window whose best smoothed
    probability is below ``background_threshold`` (None: never) is labelled ``background``;
    the background score of a window is ``1 - best probability``. Segments shorter than
    ``min_duration`` seconds are absorbed into a neighbour (see :func:`merge_segments`).
    """
    p = np.asarray(probs, dtype=np.float64)
    classes = [str(c) for c in classes]
    if p.ndim != 2 or p.shape[1] != len(classes) or p.shape[0] == 0:
        raise TimelineError(
            f"probs must be (n_windows, {len(classes)}) for classes {classes}, got {p.shape}."
        )
    if len(set(classes)) != len(classes):
        raise TimelineError(f"class names must be unique, got {classes}.")
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)
    if starts.shape != (len(p),) or ends.shape != (len(p),) or np.any(ends <= starts):
        raise TimelineError(f"starts and ends must be {len(p)} window times with end > start each.")
    if background_threshold is not None:
        if BACKGROUND in classes:
            raise TimelineError(f"a class is named {BACKGROUND!r}; it cannot also be background.")
        if not 0 <= background_threshold <= 1:
            raise TimelineError(
                f"background_threshold={background_threshold!r} must be in [0, 1] (or None)."
            )
    if isinstance(min_duration, bool) or not isinstance(min_duration, Real) or min_duration < 0:
        raise TimelineError(f"min_duration={min_duration!r} must be >= 0 seconds.")
    smoothed = smooth_probs(p, smoothing, smoothing_method)
    best = smoothed.argmax(axis=1)
    top = smoothed.max(axis=1)
    labels = np.asarray(classes, dtype=object)[best]
    scores = pd.DataFrame(smoothed, columns=classes)
    if background_threshold is not None:
        labels = np.where(top < background_threshold, BACKGROUND, labels)
        scores[BACKGROUND] = 1.0 - top
    own_start, own_end = window_spans(starts, ends)
    confidence = scores.to_numpy()[np.arange(len(p)), [scores.columns.get_loc(x) for x in labels]]
    windows = pd.DataFrame(
        {
            "start": starts,
            "end": ends,
            "own_start": own_start,
            "own_end": own_end,
            "label": labels.astype(str),
            "confidence": confidence,
        }
    )
    segments = merge_segments(labels, scores, own_start, own_end, min_duration=min_duration)
    return Timeline(classes, windows, p, smoothed, segments)


# --------------------------------------------------------------------------- files


def segments_to_records(segments: pd.DataFrame) -> list[dict[str, object]]:
    """``[{"start": s, "end": s, "label": str, "confidence": float}, ...]`` (JSON-ready)."""
    return [
        {"start": float(r.start), "end": float(r.end), "label": str(r.label),
         "confidence": float(r.confidence)}
        for r in segments[list(SEGMENT_COLUMNS)].itertuples(index=False)
    ]  # fmt: skip


def _from_records(records: list[dict[str, object]], source: str | Path) -> pd.DataFrame:
    df = pd.DataFrame.from_records(records, columns=list(SEGMENT_COLUMNS))
    if df[["start", "end", "confidence"]].isna().any().any():
        raise TimelineError(f"{source}: every segment needs {', '.join(SEGMENT_COLUMNS)}.")
    return df.astype({"start": float, "end": float, "label": str, "confidence": float})


def write_segments_csv(segments: pd.DataFrame, path: str | Path) -> Path:
    """Write the segments as CSV (columns ``start,end,label,confidence``), atomically."""
    with atomic_path(path) as tmp:
        segments[list(SEGMENT_COLUMNS)].to_csv(tmp, index=False)
    return Path(path)


def read_segments_csv(path: str | Path) -> pd.DataFrame:
    """Segments written by :func:`write_segments_csv`."""
    df = pd.read_csv(path, dtype={"label": str})
    missing = [c for c in SEGMENT_COLUMNS if c not in df.columns]
    if missing:
        raise TimelineError(f"{path}: no column(s) {missing}; expected {list(SEGMENT_COLUMNS)}.")
    return _from_records(df.to_dict("records"), path)


def write_segments_json(segments: pd.DataFrame, path: str | Path) -> Path:
    """Write the segments as a JSON list of records (see :func:`segments_to_records`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(segments_to_records(segments), indent=2) + "\n")
    return Path(path)


def read_segments_json(path: str | Path) -> pd.DataFrame:
    """Segments written by :func:`write_segments_json`."""
    records = json.loads(Path(path).read_text())
    if not isinstance(records, list):
        raise TimelineError(f"{path}: expected a JSON list of segment records.")
    return _from_records(records, path)
