"""Predictor: a classifier applied to a new video with the preprocessing and encoder (feature models)
or clip windows (clip models) of its lineage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from actionlab.encoders import build_encoder
from actionlab.inference.predictor import PredictError, Predictor, lineage_params, window_frames
from actionlab.models.compare import classifier_from_blob
from actionlab.models.compare import predict_proba as compare_predict_proba
from actionlab.models.train_classifier import predict_sequences
from actionlab.video.decode import load_clip
from actionlab.video.probe import probe

from .conftest import CLIP, EMBEDDING, PREPROCESSING


def test_lineage_params_nest_the_flat_keys(blob):
    assert lineage_params(blob, "embedding") == EMBEDDING
    assert lineage_params(blob, "preprocessing") == PREPROCESSING


def test_predictor_matches_the_training_features_path(blob, videos):
    """The Predictor's probabilities equal the model's on features made the way training made them."""
    predictor = Predictor.from_blob(blob)
    encoder = build_encoder("motion", EMBEDDING)
    clip = {**PREPROCESSING, "crop_offset": tuple(PREPROCESSING["crop_offset"])}
    paths = list(videos["path"])
    expected = predict_sequences(classifier_from_blob(blob), [encoder.encode(load_clip(p, **clip).frames)[0] for p in paths])
    got = np.stack([predictor.predict_proba(p) for p in paths])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    best = predictor.predict(paths[0], top_k=2)
    assert [label for label, _ in best] == [blob["classes"][i] for i in np.argsort(-expected[0])]
    assert sum(p for _, p in best) == pytest.approx(1.0, abs=1e-5)


def test_a_range_is_one_clip_of_that_range(blob, videos):
    predictor = Predictor.from_blob(blob)
    path = videos["path"].iloc[0]
    full = predictor.predict_proba(path)
    assert not np.allclose(predictor.predict_proba(path, start=0.5), full)
    np.testing.assert_allclose(predictor.predict_proba(path, start=0.2, duration=0.6),
                               predictor.predict_proba(path, start=0.2, end=0.8), atol=1e-6)  # fmt: skip


def test_windows_have_the_training_clip_length(blob, videos):
    predictor = Predictor.from_blob(blob)
    path = videos["path"].iloc[0]
    info = probe(path)
    starts, ends, probs = predictor.predict_windows(path)
    length = window_frames(PREPROCESSING) / info.fps
    np.testing.assert_allclose(ends - starts, length)
    assert starts[0] == 0 and ends[-1] == pytest.approx(info.frames / info.fps)
    assert probs.shape == (len(starts), len(blob["classes"]))
    np.testing.assert_allclose(probs[0], predictor.predict_proba(path, start=starts[0], end=ends[0]), atol=1e-6)


def test_windows_follow_the_recorded_training_clip_length_up_to_the_clip_cap(blob, videos):
    path = videos["path"].iloc[0]
    info = probe(path)
    cap = window_frames(PREPROCESSING) / info.fps
    for seconds, expected in ((cap / 2, cap / 2), (cap * 3, cap)):
        starts, ends, _ = Predictor.from_blob({**blob, "clip_seconds": seconds}).predict_windows(path)
        np.testing.assert_allclose(ends[:-1] - starts[:-1], expected, atol=0.5 / info.fps)
        np.testing.assert_allclose(np.diff(starts), expected / 2, atol=1 / info.fps)


@pytest.mark.parametrize(
    ("case", "needle"),
    [("missing", "no such file"), ("not_video", "not a readable video"), ("range", "--start=99")],
)
def test_bad_input_names_the_problem(blob, videos, tmp_path: Path, case: str, needle: str):
    predictor = Predictor.from_blob(blob)
    path, start = videos["path"].iloc[0], None
    if case == "missing":
        path = tmp_path / "nope.mp4"
    elif case == "not_video":
        path = tmp_path / "text.mp4"
        path.write_text("not a video")
    else:
        start = 99.0
    with pytest.raises(PredictError, match=needle):
        predictor.predict(path, start=start)


def test_ssl_model_without_or_with_another_encoder_is_refused(blob):
    from actionlab.models import FrameEncoder

    params = dict(blob["lineage"]["params"], **{"embedding.encoder": "ssl", "ssl_encoder.digest": "0123"})
    ssl_blob = {**blob, "lineage": {"params": params, "inputs": {}}}
    with pytest.raises(PredictError, match="SSL encoder .*missing"):
        Predictor.from_blob(ssl_blob)
    with pytest.raises(PredictError, match="given SSL encoder is"):
        Predictor.from_blob(ssl_blob, ssl_encoder=FrameEncoder(input_size=32))


def test_torchvision_model_without_its_weights_file_is_refused(blob, tmp_path: Path):
    params = dict(blob["lineage"]["params"], **{"embedding.encoder": "torchvision",
                  "embedding.torchvision.weights_path": str(tmp_path / "gone.pth")})  # fmt: skip
    with pytest.raises(PredictError, match="gone.pth"):
        Predictor.from_blob({**blob, "lineage": {"params": params, "inputs": {}}})


def test_clip_model_matches_the_pipelines_evaluation_of_the_stored_clips(clip_model, videos):
    """Predictor on the videos = the pipeline's test-time evaluation (multi-view windows of the
    clips the preprocessing item stored) of the model it trained."""
    case = clip_model
    predictor = Predictor.from_blob(case.blob)
    assert predictor.input == "clips" and predictor.encoder is None
    every = np.arange(len(videos))
    expected = compare_predict_proba(case.fitted, case.data, every, "cpu", views=CLIP["views"])
    got = np.stack([predictor.predict_proba(p) for p in videos["path"]])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    one_view = compare_predict_proba(case.fitted, case.data, every, "cpu", views=1)
    assert not np.allclose(got, one_view, atol=1e-5)  # the blob's views are used, not one window
    best = predictor.predict(videos["path"].iloc[0], top_k=2)
    assert [label for label, _ in best] == [case.blob["classes"][i] for i in np.argsort(-expected[0])]


def test_clip_model_timeline_windows_are_clips_of_the_training_length(clip_model, videos):
    predictor = Predictor.from_blob(clip_model.blob)
    path = videos["path"].iloc[0]
    info = probe(path)
    starts, ends, probs = predictor.predict_windows(path)
    assert len(starts) > 1
    np.testing.assert_allclose(ends - starts, window_frames(PREPROCESSING) / info.fps)
    assert probs.shape == (len(starts), len(clip_model.blob["classes"]))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    for i in (0, len(starts) - 1):
        np.testing.assert_allclose(probs[i], predictor.predict_proba(path, start=starts[i], end=ends[i]), atol=1e-6)


@pytest.mark.parametrize("drop", ["clip", "lineage"])
def test_clip_model_without_its_window_or_lineage_is_refused(clip_model, drop: str):
    blob = {**clip_model.blob, drop: None}
    with pytest.raises(PredictError, match="window settings" if drop == "clip" else "no preprocessing lineage"):
        Predictor.from_blob(blob)
