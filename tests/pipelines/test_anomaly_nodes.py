"""The anomaly train node on a hand-made embedding table: a target with too few clips is skipped
under ``target: all`` (the others are trained) and stops a run that names it."""

from __future__ import annotations

import logging
from functools import partial

import numpy as np
import pandas as pd
import pytest

from actionlab.anomaly.scorers import build_scorer, out_of_fold_scores
from actionlab.pipelines.anomaly.nodes import train_anomaly_scorers

PARAMS = {
    "target": "all", "models": ["mahalanobis"], "seed": 0, "device": "cpu", "progress": False, "frame_plot_clips": 0,
    "threshold": {"rule": "percentile", "percentile": 95.0, "competitive": "nearest"},
}  # fmt: skip


def _table() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    rows = [("a", "train")] * 4 + [("a", "val")] * 2 + [("b", "train")] * 1 + [("b", "val")] * 2 + [("b", "test")] * 2
    labels, splits = zip(*rows, strict=True)
    x = rng.normal(size=(len(rows), 4)) + np.array([0.0 if label == "a" else 3.0 for label in labels])[:, None]
    clips = pd.DataFrame({"video_id": [f"v{i}" for i in range(len(rows))], "label": labels, "split": splits,
                          "embedding": list(x.astype(np.float32)), "feature_key": "none"})  # fmt: skip
    manifest = pd.DataFrame({"video_id": clips["video_id"], "variant": "correct", "duration": 2.0,
                             "time_start": np.nan, "time_end": np.nan})  # fmt: skip
    return clips, manifest


def test_target_with_too_few_clips_is_skipped_under_all(caplog):
    clips, manifest = _table()
    with caplog.at_level(logging.WARNING):
        blobs, scores, *_ = train_anomaly_scorers(clips, manifest, None, pd.DataFrame(), PARAMS)
    assert set(blobs) == {"a__mahalanobis"}
    assert set(scores["target"]) == {"a"} and len(scores) == len(clips)
    assert "anomaly target 'b': 1 correct train clip(s) and 2 validation clip(s)" in caplog.text
    assert blobs["a__mahalanobis"]["competitive"] == "b"


def test_named_target_with_too_few_clips_stops_the_run():
    clips, manifest = _table()
    with pytest.raises(ValueError, match="anomaly target 'b': 1 correct train clip"):
        train_anomaly_scorers(clips, manifest, None, pd.DataFrame(), {**PARAMS, "target": "b"})


def test_without_validation_clips_the_threshold_comes_from_out_of_fold_scores():
    clips, manifest = _table()
    clips["split"] = clips["split"].replace("val", "train")  # a: 6 train clips, no validation
    blobs, scores, *_ = train_anomaly_scorers(clips, manifest, None, pd.DataFrame(), {**PARAMS, "target": "a"})
    details = blobs["a__mahalanobis"]["threshold_details"]
    assert details["scores"] == "out-of-fold train"
    train = np.stack(clips.loc[clips["label"] == "a", "embedding"].to_numpy()).astype(np.float64)
    in_sample = scores.loc[scores["label"] == "a", "score"].to_numpy()
    # above the in-sample 95th percentile: the train clips' scores from scorers that did not see them
    assert blobs["a__mahalanobis"]["threshold"] > np.percentile(in_sample, 95)
    expected = out_of_fold_scores(partial(build_scorer, "mahalanobis", {}, seed=0), train, seed=0)
    assert blobs["a__mahalanobis"]["threshold"] == pytest.approx(np.percentile(expected, 95.0))


def test_two_train_clips_without_validation_are_too_few_for_a_threshold():
    clips, manifest = _table()
    clips = clips[~((clips["label"] == "a") & (clips["split"] == "val"))].iloc[2:]  # a: 2 train clips, no val
    with pytest.raises(ValueError, match="2 correct train clip.* and 0 validation clip.*at least 3"):
        train_anomaly_scorers(clips, manifest, None, pd.DataFrame(), {**PARAMS, "target": "a"})
