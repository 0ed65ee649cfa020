"""Inference on new videos: time ranges, windows, action timelines (no kedro)."""

from actionlab.inference.timeline import (
    BACKGROUND,
    SEGMENT_COLUMNS,
    Timeline,
    TimelineError,
    Window,
    build_timeline,
    make_windows,
    merge_segments,
    read_segments_csv,
    read_segments_json,
    segments_to_records,
    select_range,
    smooth_probs,
    window_spans,
    write_segments_csv,
    write_segments_json,
)

__all__ = [
    "BACKGROUND",
    "SEGMENT_COLUMNS",
    "Timeline",
    "TimelineError",
    "Window",
    "build_timeline",
    "make_windows",
    "merge_segments",
    "read_segments_csv",
    "read_segments_json",
    "segments_to_records",
    "select_range",
    "smooth_probs",
    "window_spans",
    "write_segments_csv",
    "write_segments_json",
]
