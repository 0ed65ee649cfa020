"""Sequence classifiers: shapes, padding masks, resampling, training on a separable toy set, saving."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from actionlab.models.classifiers import (
    FrameAverage,
    SequenceTransformer,
    linear_classifier,
    linear_from_state,
    linear_proba,
    linear_state,
    pad_batch,
)
from actionlab.models.compare import Fitted, classifier_blob, classifier_from_blob
from actionlab.models.train_classifier import (
    augment_sequence,
    class_weights,
    train_sequence_classifier,
)


def _toy(n: int, seed: int, dim: int = 6, classes: int = 3) -> tuple[list[np.ndarray], np.ndarray]:
    """Sequences of varying length whose class shows as a raised feature in every frame."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    seqs = []
    for label in y:
        frames = rng.normal(size=(int(rng.integers(4, 15)), dim)).astype(np.float32)
        frames[:, label] += 3.0
        seqs.append(frames)
    return seqs, y


def test_pad_batch_masks_padding_and_resamples_long_sequences():
    x, mask = pad_batch([np.ones((3, 4)), np.full((50, 4), 2.0)], max_len=10)
    assert x.shape == (2, 10, 4)
    assert mask.sum(1).tolist() == [3, 10]
    assert (x[0, 3:] == 0).all() and (x[1] == 2).all()


def test_transformer_ignores_padding_and_accepts_sequences_longer_than_max_len():
    torch.manual_seed(0)
    model = SequenceTransformer(4, 3, d_model=16, layers=2, heads=4, max_len=8).eval()
    short = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    alone, mask_alone = pad_batch([short], 8)
    padded, mask = pad_batch([short, np.ones((8, 4), np.float32)], 8)  # short is padded to 8
    with torch.no_grad():
        a = model(alone, mask_alone)
        b = model(padded, mask)
        long = model(torch.randn(2, 40, 4))  # longer than max_len: resampled, never an error
    assert a.shape == (1, 3) and b.shape == (2, 3) and long.shape == (2, 3)
    torch.testing.assert_close(a[0], b[0], atol=1e-5, rtol=1e-5)


def test_frame_average_is_the_mean_of_the_valid_frames_probabilities():
    torch.manual_seed(0)
    model = FrameAverage(4, 3, hidden=8).eval()
    x = torch.randn(1, 6, 4)
    mask = torch.tensor([[True, True, True, False, False, False]])
    with torch.no_grad():
        expected = model.frame_logits(x[:, :3]).softmax(-1).mean(1)
        got = model(x, mask).exp()
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("make", [
    lambda: SequenceTransformer(6, 3, d_model=32, layers=1, heads=4, max_len=16),
    lambda: FrameAverage(6, 3, hidden=16),
])  # fmt: skip
def test_training_lowers_the_loss_on_a_separable_toy_set(make):
    train, val = _toy(30, 0), _toy(12, 1)
    model, history = train_sequence_classifier(
        make(), train, val, epochs=15, batch_size=8, lr=1e-2, patience=20, seed=0, device="cpu", progress=False
    )
    assert list(history.columns) == ["epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy"]
    assert history["train_loss"].iloc[-1] < 0.5 * history["train_loss"].iloc[0]
    assert history["val_accuracy"].max() >= 0.9
    assert not model.training


def test_without_validation_data_a_share_of_the_training_clips_is_held_out():
    _, history = train_sequence_classifier(
        FrameAverage(6, 3, hidden=0), _toy(20, 0), None, epochs=3, val_share=0.25, progress=False
    )
    assert history["val_loss"].notna().all()


def test_augmentation_crops_and_resamples_within_bounds():
    rng = np.random.default_rng(0)
    seq = np.arange(20, dtype=np.float32)[:, None]
    for _ in range(50):
        out = augment_sequence(seq, rng, crop=(0.5, 1.0), speed=(0.5, 2.0), max_len=12)
        assert 1 <= len(out) <= 12
        assert (np.diff(out[:, 0]) >= 0).all()  # frames stay in temporal order


def test_class_weights_only_when_imbalanced():
    assert class_weights(np.array([0, 1, 2, 0, 1, 2]), 3) is None
    weights = class_weights(np.array([0, 0, 0, 1]), 2)
    np.testing.assert_allclose(weights, [4 / (2 * 3), 4 / (2 * 1)])


def test_saved_models_load_back_and_predict_the_same(tmp_path):
    from actionlab.datasets import ClassifierDataset

    seqs, y = _toy(12, 0)
    model = FrameAverage(6, 3, hidden=8)
    model.norm_in.fit(np.concatenate(seqs))
    emb = np.stack([s.mean(0) for s in seqs])
    linear = linear_classifier("logistic").fit(emb, y)
    data = ClassifierDataset(str(tmp_path / "m.pt"))
    lineage = {"params": {"embedding.encoder": "motion"}, "inputs": {}}
    for fitted in (Fitted("frame_avg", model.eval(), None, 0.0), Fitted("linear", linear, None, 0.0)):
        data.save(classifier_blob(fitted, ["a", "b", "c"], lineage, {"linear": {"estimator": "logistic", "C": 1.0, "max_iter": 2000}, "seed": 0}))
        blob = data.load()
        assert blob["classes"] == ["a", "b", "c"] and blob["lineage"] == lineage
        back = classifier_from_blob(blob)
        if fitted.name == "linear":
            np.testing.assert_allclose(linear_proba(back, emb), linear.predict_proba(emb))
        else:
            x, mask = pad_batch(seqs, 16)
            with torch.no_grad():
                torch.testing.assert_close(back(x, mask), model(x, mask))


def test_linear_state_round_trip_for_the_svm():
    X, y = np.random.default_rng(0).normal(size=(30, 5)), np.arange(30) % 3
    X[np.arange(30), y] += 3
    svm = linear_classifier("svm").fit(X, y)
    back = linear_from_state(linear_state(svm), {"estimator": "svm"})
    np.testing.assert_allclose(linear_proba(back, X), linear_proba(svm, X))
    assert np.allclose(linear_proba(svm, X).sum(1), 1.0)
