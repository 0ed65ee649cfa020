"""Time ranges, windows and action timelines on hand-made window scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actionlab.inference import (
    BACKGROUND,
    SEGMENT_COLUMNS,
    TimelineError,
    build_timeline,
    make_windows,
    range_frames,
    read_segments_csv,
    read_segments_json,
    select_range,
    smooth_probs,
    window_spans,
    write_segments_csv,
    write_segments_json,
)


def _frames(windows: list) -> list[tuple[int, int]]:
    return [(w.start_frame, w.end_frame) for w in windows]


# --------------------------------------------------------------------------- windows


def test_windows_exact_multiple_end_on_the_last_frame() -> None:
    # 100 frames at 10 fps, 2 s windows every 1 s: starts 0, 10, ..., 80; 80 + 20 = 100
    windows = make_windows(100, 10.0, 2.0, 1.0)
    assert _frames(windows) == [(s, s + 20) for s in range(0, 81, 10)]
    assert [w.index for w in windows] == list(range(9))
    assert (windows[-1].start, windows[-1].end) == (8.0, 10.0)


def test_windows_non_multiple_add_one_aligned_to_the_end() -> None:
    # 105 frames: the regular windows stop at frame 100, one more covers 85..105
    windows = make_windows(105, 10.0, 2.0, 1.0)
    assert _frames(windows)[-2:] == [(80, 100), (85, 105)]
    assert len(windows) == 10
    # no stride: windows side by side, then the end-aligned one
    assert _frames(make_windows(100, 25.0, 30, unit="frames")) == [
        (0, 30), (30, 60), (60, 90), (70, 100),
    ]  # fmt: skip


def test_windows_in_frames_and_seconds_agree() -> None:
    in_frames = make_windows(40, 8.0, 16, 8, unit="frames")
    assert _frames(in_frames) == [(0, 16), (8, 24), (16, 32), (24, 40)]
    assert _frames(make_windows(40, 8.0, 2.0, 1.0)) == _frames(in_frames)
    # seconds round half up to whole frames: 0.5 s at 25 fps is 13 frames
    assert make_windows(100, 25.0, 0.5)[0].num_frames == 13


def test_short_video_gives_one_window_over_everything() -> None:
    assert _frames(make_windows(12, 10.0, 2.0, 1.0)) == [(0, 12)]
    assert _frames(make_windows(20, 10.0, 2.0, 1.0)) == [(0, 20)]


def test_windows_of_a_selected_range_keep_video_frame_numbers() -> None:
    windows = make_windows(30, 10.0, 2.0, 1.0, first_frame=50)
    assert _frames(windows) == [(50, 70), (60, 80)]
    assert (windows[0].start, windows[-1].end) == (5.0, 8.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_frames": 0}, "0 frames"),
        ({"length": 0}, "length=0 must be a positive"),
        ({"stride": -1.0}, "stride=-1.0 must be a positive"),
        ({"length": 2.5, "unit": "frames"}, "whole number of frames"),
        ({"fps": 0}, "fps=0"),
        ({"unit": "minutes"}, "unit='minutes'"),
    ],
)
def test_window_errors(kwargs: dict, match: str) -> None:
    args = {"num_frames": 100, "fps": 10.0, "length": 2.0, "stride": 1.0} | kwargs
    with pytest.raises(TimelineError, match=match):
        make_windows(**args)


def test_window_spans_tile_the_timeline_around_centres() -> None:
    starts = np.array([0.0, 1.0, 2.0, 2.5])  # the last one end-aligned, closer to its neighbour
    own_start, own_end = window_spans(starts, starts + 2)
    np.testing.assert_allclose(own_start, [0.0, 1.5, 2.5, 3.25])
    np.testing.assert_allclose(own_end, [1.5, 2.5, 3.25, 4.5])
    with pytest.raises(TimelineError, match="sorted"):
        window_spans(starts[::-1], starts[::-1] + 2)


# --------------------------------------------------------------------------- time range


def test_select_range_defaults_and_forms() -> None:
    assert select_range(10.0) == (0.0, 10.0)
    assert select_range(10.0, start=2) == (2.0, 10.0)
    assert select_range(10.0, start=2, end=6.5) == (2.0, 6.5)
    assert select_range(10.0, start=2, duration=3) == (2.0, 5.0)
    assert select_range(10.0, end=10.0) == (0.0, 10.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"end": 5, "duration": 2}, r"both --end=5 and --duration=2 given; pass only one"),
        ({"start": 4, "end": 4}, r"--end=4 must be greater than --start=4.*\(4, 10\.000\]"),
        ({"start": 4, "end": 3}, r"--end=3 must be greater than --start=4"),
        ({"start": 10}, r"--start=10 is outside the video.*\[0, 10\.000\)"),
        ({"start": -1}, r"--start=-1 is outside the video"),
        ({"end": 12}, r"--end=12 is after the end of the video \(10\.000 s\).*\(0, 10\.000\]"),
        ({"start": 8, "duration": 3}, r"ends after the video.*--duration <= 2\.000"),
        ({"duration": 0}, r"--duration=0 must be > 0"),
        ({"start": float("nan")}, r"--start=nan is not a finite number"),
    ],
)
def test_select_range_errors_name_the_option_and_the_valid_range(kwargs: dict, match: str) -> None:
    with pytest.raises(TimelineError, match=match):
        select_range(10.0, **kwargs)


def test_range_frames_follow_start_inclusive_end_exclusive() -> None:
    # 10 s at 25 fps = 250 frames; [2, 6.5) holds frames 50..162 (frame 162 is at 6.48 s)
    assert range_frames(2.0, 6.5, 25.0, 250) == (50, 113)
    assert range_frames(0.0, 10.0, 25.0, 250) == (0, 250)
    assert range_frames(0.01, 0.05, 25.0, 250) == (1, 1)  # only frame 1 (0.04 s) is inside
    with pytest.raises(TimelineError, match="holds no frame"):
        range_frames(0.01, 0.02, 25.0, 250)
    t0, t1 = select_range(4.0, start=1, duration=1.5)
    first, n = range_frames(t0, t1, 10.0, 40)
    assert [(w.start, w.end) for w in make_windows(n, 10.0, 1.0, 0.5, first_frame=first)] == [
        (1.0, 2.0), (1.5, 2.5)
    ]  # fmt: skip


def test_select_range_names_kedro_parameters_with_a_prefix() -> None:
    with pytest.raises(TimelineError, match=r"inference\.end=20 is after the end"):
        select_range(10.0, end=20, prefix="inference.")


# --------------------------------------------------------------------------- smoothing, merging


def _two_actions_with_a_noisy_window() -> np.ndarray:
    probs = np.array([[0.8, 0.2]] * 5 + [[0.2, 0.8]] * 5)
    probs[2] = [0.3, 0.7]  # one window in the middle of `a` looks like `b`
    return probs


def test_smoothing_by_hand() -> None:
    probs = _two_actions_with_a_noisy_window()
    mean = smooth_probs(probs, 3, "mean")
    np.testing.assert_allclose(
        mean[:, 0], [0.8, 1.9 / 3, 1.9 / 3, 1.9 / 3, 0.6, 0.4, 0.2, 0.2, 0.2, 0.2]
    )
    np.testing.assert_allclose(mean.sum(axis=1), 1.0)
    median = smooth_probs(probs, 3, "median")
    np.testing.assert_allclose(median[:, 0], [0.8] * 5 + [0.2] * 5)
    np.testing.assert_allclose(smooth_probs(probs, 1), probs)
    with pytest.raises(TimelineError, match="size=0"):
        smooth_probs(probs, 0)
    with pytest.raises(TimelineError, match="method='max'"):
        smooth_probs(probs, 3, "max")  # type: ignore[arg-type]


def test_noisy_window_is_a_segment_without_smoothing_and_gone_with_it() -> None:
    probs = _two_actions_with_a_noisy_window()
    starts = np.arange(10.0)  # 2 s windows every 1 s: centres 1..10, spans split at x.5
    raw = build_timeline(probs, starts, starts + 2, ["a", "b"])
    assert raw.segments["label"].tolist() == ["a", "b", "a", "b"]
    assert raw.segments["start"].tolist() == [0.0, 2.5, 3.5, 5.5]

    tl = build_timeline(probs, starts, starts + 2, ["a", "b"], smoothing=3)
    expected = pd.DataFrame(
        {
            "start": [0.0, 5.5],
            "end": [5.5, 11.0],
            "label": ["a", "b"],
            # mean smoothed probability of the label over the segment's windows
            "confidence": [(0.8 + 3 * 1.9 / 3 + 0.6) / 5, (0.6 + 4 * 0.8) / 5],
        }
    )
    pd.testing.assert_frame_equal(tl.segments, expected)
    assert tl.windows["label"].tolist() == ["a"] * 5 + ["b"] * 5
    med = build_timeline(
        probs, starts, starts + 2, ["a", "b"], smoothing=3, smoothing_method="median"
    )
    assert med.segments["label"].tolist() == ["a", "b"]
    np.testing.assert_allclose(med.segments["confidence"], [0.8, 0.8])


@pytest.mark.parametrize(("p_a", "p_c", "winner"), [(0.3, 0.25, "a"), (0.25, 0.3, "c")])
def test_short_segment_absorbed_by_the_neighbour_it_resembles(
    p_a: float, p_c: float, winner: str
) -> None:
    # 1 s windows side by side: a a a a | b | c c c c c; `b` lasts 1 s < min_duration 2 s
    probs = np.array([[0.9, 0.05, 0.05]] * 4 + [[p_a, 0.45, p_c]] + [[0.05, 0.05, 0.9]] * 5)
    starts = np.arange(10.0)
    kept = build_timeline(probs, starts, starts + 1, ["a", "b", "c"])
    assert kept.segments["label"].tolist() == ["a", "b", "c"]
    tl = build_timeline(probs, starts, starts + 1, ["a", "b", "c"], min_duration=2.0)
    assert tl.segments["label"].tolist() == ["a", "c"]
    boundary = 5.0 if winner == "a" else 4.0
    assert tl.segments["start"].tolist() == [0.0, boundary]
    assert tl.segments["end"].tolist() == [boundary, 10.0]
    if winner == "a":
        expected = [(4 * 0.9 + p_a) / 5, 0.9]
    else:
        expected = [0.9, (p_c + 5 * 0.9) / 6]
    np.testing.assert_allclose(tl.segments["confidence"], expected)


def test_short_segments_at_the_edges_and_a_single_segment_survive() -> None:
    probs = np.array([[0.1, 0.9]] + [[0.9, 0.1]] * 5)
    starts = np.arange(6.0)
    tl = build_timeline(probs, starts, starts + 1, ["a", "b"], min_duration=2.0)
    assert tl.segments[["start", "end", "label"]].values.tolist() == [[0.0, 6.0, "a"]]
    one = build_timeline(probs[:1], starts[:1], starts[:1] + 1, ["a", "b"], min_duration=5.0)
    assert one.segments["label"].tolist() == ["b"]  # nothing to merge with


def test_background_below_the_threshold() -> None:
    probs = np.array([[0.9, 0.1], [0.5, 0.5], [0.55, 0.45], [0.2, 0.8]])
    starts = np.arange(4.0)
    tl = build_timeline(probs, starts, starts + 1, ["a", "b"], background_threshold=0.6)
    assert tl.segments["label"].tolist() == ["a", BACKGROUND, "b"]
    assert tl.segments["start"].tolist() == [0.0, 1.0, 3.0]
    # background's score is 1 - the best class probability
    np.testing.assert_allclose(tl.segments["confidence"], [0.9, (0.5 + 0.45) / 2, 0.8])
    plain = build_timeline(probs, starts, starts + 1, ["a", "b"])
    assert BACKGROUND not in plain.segments["label"].tolist()
    with pytest.raises(TimelineError, match="named 'background'"):
        build_timeline(probs, starts, starts + 1, ["a", BACKGROUND], background_threshold=0.6)


def test_build_timeline_input_errors() -> None:
    probs = np.full((3, 2), 0.5)
    starts = np.arange(3.0)
    with pytest.raises(TimelineError, match=r"\(n_windows, 3\)"):
        build_timeline(probs, starts, starts + 1, ["a", "b", "c"])
    with pytest.raises(TimelineError, match="end > start"):
        build_timeline(probs, starts, starts, ["a", "b"])
    with pytest.raises(TimelineError, match="background_threshold=1.5"):
        build_timeline(probs, starts, starts + 1, ["a", "b"], background_threshold=1.5)
    with pytest.raises(TimelineError, match="unique"):
        build_timeline(probs, starts, starts + 1, ["a", "a"])


# --------------------------------------------------------------------------- files


def test_csv_and_json_round_trip(tmp_path: Path) -> None:
    segments = pd.DataFrame(
        {
            "start": [0.0, 1.25, 7.5],
            "end": [1.25, 7.5, 9.0],
            "label": ["007", "walk, then run", BACKGROUND],  # digits and a comma stay text
            "confidence": [0.875, 0.5, 1 / 3],
        }
    )
    csv = write_segments_csv(segments, tmp_path / "out" / "timeline.csv")
    assert csv.read_text().splitlines()[0] == ",".join(SEGMENT_COLUMNS)
    pd.testing.assert_frame_equal(read_segments_csv(csv), segments)

    path = write_segments_json(segments, tmp_path / "timeline.json")
    records = json.loads(path.read_text())
    assert records[1] == {"start": 1.25, "end": 7.5, "label": "walk, then run", "confidence": 0.5}
    pd.testing.assert_frame_equal(read_segments_json(path), segments)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "timeline.json"]  # no temp left

    (tmp_path / "bad.csv").write_text("start,end\n0,1\n")
    with pytest.raises(TimelineError, match=r"bad.csv: no column\(s\) \['label', 'confidence'\]"):
        read_segments_csv(tmp_path / "bad.csv")
