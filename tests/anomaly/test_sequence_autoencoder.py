"""The sequence autoencoder: padding masks, per-frame errors that point at an injected
deviation, the flagged stretch over it, clip scores and saving."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from actionlab.anomaly import (
    build_scorer,
    choose_threshold,
    flagged_stretches,
    scorer_blob,
    scorer_from_blob,
)
from actionlab.models.autoencoder import SequenceAutoencoder, clip_score

DIM = 6
CONFIG = {"hidden": 32, "latent": 8}
TRAIN = {"epochs": 60, "patience": 60, "batch_size": 16, "lr": 5e-3}
SEGMENT = slice(9, 14)


def _sequence(rng: np.random.Generator, length: int) -> np.ndarray:
    """A smooth periodic movement: each feature a sine over the clip with a small random phase
    and amplitude, plus noise."""
    t = np.linspace(0, 1, length)[:, None]
    phase = np.arange(DIM) * 0.8 + rng.normal(0, 0.1, DIM)
    amplitude = 1.0 + rng.normal(0, 0.05, DIM)
    return (amplitude * np.sin(2 * np.pi * t + phase) + rng.normal(0, 0.05, (length, DIM))).astype(np.float32)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    train = [_sequence(rng, int(n)) for n in rng.integers(20, 29, 48)]  # varying lengths
    val = [_sequence(rng, int(n)) for n in rng.integers(20, 29, 12)]
    scorer = build_scorer("sequence_autoencoder", CONFIG, seed=0, train=TRAIN, device="cpu").fit(train, val)
    normal = _sequence(rng, 24)
    deviating = normal.copy()
    deviating[SEGMENT] = -deviating[SEGMENT] + 1.5  # the movement goes the other way for 5 frames
    return scorer, val, normal, deviating


def test_injected_segment_has_the_highest_frame_errors(fitted) -> None:
    scorer, _, normal, deviating = fitted
    errors = scorer.frame_scores([deviating])[0]
    assert errors.shape == (24,)
    top = set(np.argsort(errors)[-5:].tolist())
    assert top == set(range(SEGMENT.start, SEGMENT.stop))
    clean = scorer.frame_scores([normal])[0]
    assert errors[SEGMENT].min() > 3 * clean.max()
    assert scorer.score([deviating])[0] > scorer.score([normal])[0]


def test_timeline_marks_the_injected_stretch(fitted) -> None:
    """Threshold: the 99th percentile of the validation clips' frame errors. The deviating clip's
    first flagged stretch starts where the injected segment starts and covers it, with its peak
    inside; the normal clip has no flagged frame. (Frames after the segment may be flagged too:
    the deviation also moves the clip's code, so the rest of the clip is rebuilt less well.)"""
    scorer, val, normal, deviating = fitted
    threshold, _ = choose_threshold("percentile", np.concatenate(scorer.frame_scores(val)), percentile=99)
    times = np.arange(24) / 10  # frame times at 10 fps
    errors = scorer.frame_scores([deviating])[0]
    stretches = flagged_stretches(times, errors, threshold)
    start, end = stretches[0]
    assert start == pytest.approx(SEGMENT.start / 10)
    assert end >= (SEGMENT.stop - 1) / 10
    assert SEGMENT.start <= int(np.argmax(errors)) < SEGMENT.stop
    assert flagged_stretches(times, scorer.frame_scores([normal])[0], threshold) == []


def test_padding_does_not_change_a_sequence_errors(fitted) -> None:
    """A short sequence scored alone or in a batch with a longer one (padded) gives the same
    per-frame errors."""
    scorer, val, _, _ = fitted
    short, long = val[0][:20], val[1]
    alone = scorer.frame_scores([short])[0]
    model = scorer.model
    with torch.inference_mode():
        x, mask = model.batch([short, long], torch.device("cpu"))
        batched = model.frame_errors(x, mask)[0]
    assert mask[0].sum() == 20 and mask.shape[1] == len(long)
    np.testing.assert_allclose(batched[:20].numpy(), alone, rtol=1e-5, atol=1e-6)
    assert (batched[20:] == 0).all()


def test_clip_reductions() -> None:
    errors = torch.tensor([[1.0, 2.0, 3.0, 10.0], [4.0, 6.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    np.testing.assert_allclose(clip_score(errors, mask, "mean").numpy(), [4.0, 5.0])
    np.testing.assert_allclose(clip_score(errors, mask, "max").numpy(), [10.0, 6.0])
    # 50th percentile with linear interpolation: (2 + 3) / 2 and (4 + 6) / 2
    np.testing.assert_allclose(clip_score(errors, mask, "percentile", 50).numpy(), [2.5, 5.0])
    with pytest.raises(ValueError, match="clip_reduction"):
        SequenceAutoencoder(DIM, clip_reduction="median")


def test_blob_round_trip(fitted) -> None:
    scorer, val, _, deviating = fitted
    buffer = io.BytesIO()
    torch.save(scorer_blob(scorer), buffer)
    buffer.seek(0)
    restored = scorer_from_blob(torch.load(buffer, weights_only=True))
    np.testing.assert_array_equal(restored.score([*val, deviating]), scorer.score([*val, deviating]))
    np.testing.assert_array_equal(restored.frame_scores([deviating])[0], scorer.frame_scores([deviating])[0])
