"""Sampling strategies: pure functions of the frame count."""

from __future__ import annotations

import numpy as np
import pytest

from actionlab.video.sampling import (
    CosineSelector,
    cosine_select,
    large_step,
    large_step_indices,
    sample_indices,
    step_indices,
    uniform_indices,
)


def test_uniform_spreads_evenly_from_first() -> None:
    idx = uniform_indices(100, 8)
    assert idx.dtype == np.int64
    assert idx.tolist() == [0, 12, 25, 37, 50, 62, 75, 87]
    assert uniform_indices(8, 8).tolist() == list(range(8))


def test_uniform_short_video_returns_all_frames_without_repeats() -> None:
    assert uniform_indices(5, 8).tolist() == [0, 1, 2, 3, 4]
    assert uniform_indices(1, 8).tolist() == [0]


def test_step_and_cap() -> None:
    assert step_indices(10, 3).tolist() == [0, 3, 6, 9]
    assert step_indices(100, 2, max_frames=4).tolist() == [0, 2, 4, 6]
    assert step_indices(3, 10).tolist() == [0]


def test_large_step() -> None:
    assert large_step(100, 8) == 12
    assert large_step(5, 8) == 1
    assert large_step_indices(100, 8).tolist() == [0, 12, 24, 36, 48, 60, 72, 84]
    assert large_step_indices(5, 8).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("fn", [lambda: uniform_indices(0, 8), lambda: step_indices(0, 2),
                                lambda: large_step_indices(0), lambda: sample_indices("all", 0)])
def test_zero_total_gives_empty(fn) -> None:
    out = fn()
    assert out.shape == (0,) and out.dtype == np.int64


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: uniform_indices(10, 0), "num_frames"),
        (lambda: uniform_indices(10, -1), "num_frames"),
        (lambda: step_indices(10, 0), "step"),
        (lambda: step_indices(10, -2), "step"),
        (lambda: step_indices(10, 2, max_frames=0), "max_frames"),
        (lambda: large_step(10, 0), "num_frames"),
        (lambda: uniform_indices(-1, 3), "total"),
        (lambda: step_indices(10, 1.5), "step"),
        (lambda: sample_indices("nope", 10), "strategy"),
        (lambda: sample_indices("cosine", 10), "strategy"),
        (lambda: sample_indices("step", 10, stride=2), "stride"),
        (lambda: sample_indices("uniform", 10, num_frames=0), "num_frames"),
    ],
)
def test_bad_values_raise_valueerror_naming_parameter(call, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()


def test_dispatcher_matches_functions_and_ignores_unused_params() -> None:
    params = {"num_frames": 4, "step": 3, "max_frames": 2}
    assert sample_indices("uniform", 20, **params).tolist() == uniform_indices(20, 4).tolist()
    assert sample_indices("step", 20, **params).tolist() == [0, 3]
    assert sample_indices("large_step", 20, **params).tolist() == large_step_indices(20, 4).tolist()
    assert sample_indices("all", 20, max_frames=5).tolist() == [0, 1, 2, 3, 4]
    assert sample_indices("step", 7).tolist() == [0, 2, 4, 6]  # default step 2


def test_cosine_keeps_first_and_changes_against_last_kept() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    a[:2] = 200
    b = np.zeros((4, 4, 3), np.uint8)
    b[2:] = 200
    almost_a = a.copy()
    almost_a[0, 0, 0] = 190
    frames = [a, a, almost_a, b, b, a]
    assert cosine_select(frames, 0.9).tolist() == [0, 3, 5]
    assert cosine_select(iter(frames), 1.01).tolist() == list(range(6))  # > 1 keeps everything
    assert cosine_select([], 0.9).tolist() == []


def test_cosine_compares_with_last_kept_not_previous() -> None:
    # a slow drift of 10 degrees per frame: every frame is similar to the previous one
    # (cos 10deg = 0.985), but drifts away from the last kept one (cos 30deg = 0.866 < 0.9)
    angles = np.deg2rad(np.arange(10) * 10.0)
    frames = [np.array([np.cos(a), np.sin(a)]) for a in angles]
    assert cosine_select(frames, 0.9).tolist() == [0, 3, 6, 9]


def test_cosine_black_frames_and_errors() -> None:
    black = np.zeros((2, 2, 3), np.uint8)
    white = np.full((2, 2, 3), 255, np.uint8)
    assert cosine_select([black, black, white, white, black], 0.9).tolist() == [0, 2, 4]
    with pytest.raises(ValueError, match="threshold"):
        CosineSelector(float("nan"))
    with pytest.raises(ValueError, match="frames"):
        cosine_select([black, np.zeros((3, 3, 3), np.uint8)], 0.9)
