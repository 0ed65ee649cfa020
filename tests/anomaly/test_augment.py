"""Augmented copies of the anomaly scorers' train clips: one transform per copy on every frame,
different across clips and copies, flips only for the symmetric labels, only correct train clips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from actionlab.anomaly.augment import (
    augment_frames,
    augment_sources,
    augmented_clips,
    augmented_sequences,
    copy_seed,
)
from actionlab.models.augment import ClipAugment

STRONG = {"scale": [0.6, 1.0], "flip_p": 0.5, "degrees": 15.0, "jitter": [0.4, 0.4, 0.4, 0.1],
          "jitter_p": 1.0, "blur_p": 0.5, "blur_sigma": [0.1, 1.5]}  # fmt: skip
FLIP_ONLY = {"scale": [1.0, 1.0], "flip_p": 1.0, "degrees": 0.0, "jitter": [0.0, 0.0, 0.0, 0.0],
             "jitter_p": 0.0, "blur_p": 0.0, "blur_sigma": [0.1, 1.5]}  # fmt: skip


def _frames(seed: int, t: int = 5, size: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (t, size, size, 3), dtype=np.uint8)


def _pixels(clips: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """A stand-in encoder: each frame's pixels as its features, their mean as the embedding."""
    return [(c.reshape(len(c), -1).astype(np.float32), c.reshape(-1, 3).mean(0).astype(np.float32)) for c in clips]


def test_one_draw_is_applied_identically_to_every_frame():
    still = np.repeat(_frames(0, 1), 6, axis=0)  # 6 identical frames
    augment = ClipAugment.from_config(32, STRONG)
    for k in range(5):
        out = augment_frames(still, augment, copy_seed(0, "clip", k))
        assert out.shape == still.shape and out.dtype == np.uint8
        assert all(np.array_equal(out[0], out[t]) for t in range(1, 6))
        assert not np.array_equal(out, still)


def test_copies_differ_across_clips_and_copies_and_repeat_for_a_seed():
    frames = _frames(1)
    augment = ClipAugment.from_config(32, STRONG)
    draws = [augment_frames(frames, augment, copy_seed(0, vid, k)) for vid in ("a", "b") for k in range(2)]
    assert all(not np.array_equal(draws[i], draws[j]) for i in range(4) for j in range(i + 1, 4))
    again = augment_frames(frames, augment, copy_seed(0, "a", 0))
    np.testing.assert_array_equal(again, draws[0])
    assert not np.array_equal(augment_frames(frames, augment, copy_seed(1, "a", 0)), draws[0])


def test_augmenting_leaves_torch_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    augment_frames(_frames(2), ClipAugment.from_config(32, STRONG), 7)
    assert torch.equal(torch.rand(3), expected)


def test_copies_per_clip_and_flips_only_for_the_listed_labels():
    clips = {"k1": _frames(3), "k2": _frames(4)}
    sources = pd.DataFrame({"video_id": ["v1", "v2"], "label": ["clap", "wave"], "split": ["train", "train"],
                            "clip_key": ["k1", "k2"]})  # fmt: skip
    config = {**FLIP_ONLY, "copies": 3, "flip_labels": ["clap"]}
    table = augmented_clips(sources, clips.__getitem__, _pixels, config, seed=0, group=2)
    assert list(table["video_id"]) == ["v1"] * 3 + ["v2"] * 3
    assert list(table["copy"]) == [0, 1, 2] * 2
    sequences = augmented_sequences(table)
    for row, seq in zip(table.itertuples(), sequences, strict=True):
        frames = clips[row.clip_key]
        # flip-only config: the symmetric label's copies are mirrored, the other's untouched
        expected = frames[:, :, ::-1] if row.label == "clap" else frames
        np.testing.assert_array_equal(seq, expected.reshape(len(frames), -1).astype(np.float32))
        np.testing.assert_allclose(row.embedding, expected.reshape(-1, 3).mean(0), rtol=1e-5)
    assert augmented_clips(sources, clips.__getitem__, _pixels, {**config, "copies": 0}, seed=0).empty


@pytest.mark.parametrize("targets", [["a"], ["a", "b"]])
def test_only_the_targets_correct_train_clips_are_sources(targets):
    labels = np.array(["a", "a", "a", "a", "b", "b", "b", "c"])
    splits = np.array(["train", "train", "val", "test", "train", "train", "val", "train"])
    incorrect = np.array([False, True, False, False, False, False, False, False])
    picks = augment_sources(labels, splits, incorrect, targets)
    expected = {"a": [0], "b": [4, 5]}
    np.testing.assert_array_equal(picks, sorted(i for t in targets for i in expected[t]))
