"""Scoring a new video with a saved anomaly scorer: the same embedding path as the training clips,
the verdict, a timeline that marks an injected deviation, the default model and clear errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from actionlab.anomaly.score import (
    ANOMALOUS,
    NORMAL,
    VideoScorer,
    default_model,
    load_video_scorer,
    write_timeline,
)
from actionlab.anomaly.scorers import build_scorer, scorer_blob
from actionlab.anomaly.thresholds import choose_threshold
from actionlab.encoders import build_encoder
from actionlab.inference.predictor import PredictError
from actionlab.lineage import with_lineage
from actionlab.synthetic import render_clip
from actionlab.video.decode import load_clip
from actionlab.video.write import write_video

FPS = 20
CLIP_FRAMES = 40  # training clips: 2 s
PREPROCESSING = {"strategy": "step", "step": 1, "max_frames": CLIP_FRAMES, "size": 48, "crop_offset": [0.0, 0.0]}
EMBEDDING = {"encoder": "motion", "num_frames": 4, "small_step": 1, "pooling": "meanstd", "streams": "two"}
N_TRAIN, N_VAL = 32, 8
LONG = 200  # frames of the scored videos (10 s)
INJECTED = (70, 130)  # frames of the long video replaced by another action (3.5 s to 6.5 s)


@dataclass
class Case:
    blob: dict[str, Any]
    embeddings: np.ndarray  # of the validation clips, made with load_clip + the motion encoder
    val_paths: list[str]
    clean: Path  # a long correct squat
    spliced: Path  # the same video with a stretch of jumping injected


def _clip_kwargs() -> dict[str, Any]:
    return {**PREPROCESSING, "crop_offset": tuple(PREPROCESSING["crop_offset"])}


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Case:
    """A k-NN scorer fitted on the motion embeddings of generated correct squat clips (other
    actors, backgrounds and tempos than the scored video), saved as the pipeline saves it."""
    root = tmp_path_factory.mktemp("score")
    paths = [
        str(write_video(root / f"squat{s}.mp4", render_clip("squat", seed=100 + s, num_frames=CLIP_FRAMES, size=64).frames, fps=FPS))
        for s in range(N_TRAIN + N_VAL)
    ]  # fmt: skip
    encoder = build_encoder("motion", EMBEDDING)
    x = np.stack([encoder.encode(load_clip(p, **_clip_kwargs()).frames)[1] for p in paths]).astype(np.float64)
    scorer = build_scorer("knn", {"k": 3}, seed=0).fit(x[:N_TRAIN])
    threshold, details = choose_threshold("percentile", scorer.score(x[N_TRAIN:]), percentile=90.0)
    lineage = with_lineage(pd.DataFrame(), params={"preprocessing": PREPROCESSING, "embedding": EMBEDDING}).attrs["lineage"]
    blob = scorer_blob(scorer, target="squat", threshold=threshold, threshold_details=details, lineage=lineage,
                       clip_seconds=CLIP_FRAMES / FPS)  # fmt: skip
    base = render_clip("squat", seed=7, num_frames=LONG, size=64).frames
    other = render_clip("jump", seed=7, num_frames=LONG, size=64).frames  # same actor, background, view
    spliced = base.copy()
    a, b = INJECTED
    spliced[a:b] = other[a:b]
    return Case(
        blob=torch.load(_saved(blob, root / "squat__knn.pt"), weights_only=True), embeddings=x[N_TRAIN:],
        val_paths=paths[N_TRAIN:], clean=write_video(root / "clean.mp4", base, fps=FPS),
        spliced=write_video(root / "spliced.mp4", spliced, fps=FPS),
    )  # fmt: skip


def _saved(blob: dict[str, Any], path: Path) -> Path:
    torch.save(blob, path)
    return path


def _overlap(stretches: list[tuple[float, float]], a: float, b: float) -> float:
    """Seconds of [a, b) covered by the stretches."""
    return sum(max(0.0, min(e, b) - max(s, a)) for s, e in stretches)


def test_a_video_scores_like_its_embedding_made_the_training_way(case: Case):
    scorer = VideoScorer.from_blob(case.blob)
    got = np.array([scorer.score(p).score for p in case.val_paths])
    np.testing.assert_allclose(got, scorer.scorer.score(case.embeddings), rtol=1e-6)
    result = scorer.score(case.val_paths[0])
    assert result.threshold == case.blob["threshold"]
    assert result.verdict == (ANOMALOUS if result.score >= result.threshold else NORMAL)
    verdicts = {scorer.score(p).verdict for p in case.val_paths}
    assert verdicts == {NORMAL, ANOMALOUS}  # the 90th percentile of these clips flags the top one


def test_the_timeline_marks_the_injected_deviation(case: Case, tmp_path: Path):
    scorer = VideoScorer.from_blob(case.blob)
    a, b = (f / FPS for f in INJECTED)
    end = LONG / FPS
    timeline = scorer.timeline(case.spliced, stride=0.5)
    w = timeline.windows
    np.testing.assert_allclose(w["end"] - w["start"], CLIP_FRAMES / FPS)  # the training clip length
    assert w["start"].iloc[0] == 0 and w["end"].iloc[-1] == pytest.approx(end)
    assert (w["flagged"] == (w["score"] >= case.blob["threshold"])).all()
    covered = _overlap(timeline.stretches, a, b)
    outside = _overlap(timeline.stretches, 0, a) + _overlap(timeline.stretches, b, end)
    assert covered >= 0.75 * (b - a), timeline.stretches
    assert outside <= 0.25 * (end - (b - a)), timeline.stretches
    inside = w[(w["start"] >= a - 0.5) & (w["end"] <= b + 0.5)]
    assert inside["score"].max() == w["score"].max()  # the highest window lies on the injected part
    clean = scorer.timeline(case.clean, stride=0.5)
    assert _overlap(clean.stretches, 0, end) <= 0.25 * end, clean.stretches
    assert scorer.score(case.spliced, start=a, end=a + 2).verdict == ANOMALOUS

    paths = write_timeline(timeline, tmp_path, "squat__knn")
    assert [p.name for p in paths] == ["squat__knn.csv", "squat__knn.json"]
    pd.testing.assert_frame_equal(pd.read_csv(paths[0]), w, check_dtype=False)
    record = json.loads(paths[1].read_text())
    assert [(s["start"], s["end"]) for s in record["stretches"]] == timeline.stretches
    assert all(s["max_score"] >= record["threshold"] for s in record["stretches"])


def test_a_time_range_and_a_window_length(case: Case):
    scorer = VideoScorer.from_blob(case.blob)
    timeline = scorer.timeline(case.spliced, start=1.0, duration=4.0, window=1.0, stride=1.0)
    assert timeline.windows[["start", "end"]].to_numpy().tolist() == [[1, 2], [2, 3], [3, 4], [4, 5]]
    one = scorer.score(case.spliced, start=3.0, end=4.0)
    assert timeline.windows["score"].iloc[2] == pytest.approx(one.score)
    assert (one.start, one.end, one.sampled_end) == (3.0, 4.0, 4.0)
    whole = scorer.score(case.spliced)  # 10 s; one clip holds CLIP_FRAMES source frames (2 s)
    assert (whole.end, whole.sampled_end) == (LONG / FPS, CLIP_FRAMES / FPS)
    assert whole.score == pytest.approx(scorer.score(case.spliced, end=CLIP_FRAMES / FPS).score)


def test_default_model_is_the_best_roc_auc_of_the_target():
    report = pd.DataFrame({
        "target": ["squat"] * 4 + ["wave"] * 2,
        "model": ["knn", "knn", "mahalanobis", "mahalanobis", "knn", "mahalanobis"],
        "comparison": ["all_others", "incorrect", "all_others", "incorrect", "all_others", "all_others"],
        "roc_auc": [0.99, 0.70, 0.80, 0.90, 0.60, 0.95],
    })  # fmt: skip
    both = ["knn", "mahalanobis"]
    assert default_model("squat", both, report) == "mahalanobis"  # incorrect wins over all_others
    assert default_model("wave", both, report) == "mahalanobis"  # no incorrect rows: all_others
    assert default_model("squat", ["knn"], report) == "knn"  # only what is saved
    assert default_model("squat", both, None, ["mahalanobis", "knn"]) == "mahalanobis"
    assert default_model("clap", both, report, ["autoencoder", "knn"]) == "knn"


def test_unknown_target_and_missing_scorers_are_clear(case: Case, tmp_path: Path):
    with pytest.raises(PredictError, match="no anomaly scorers .*`kedro run --pipeline anomaly`"):
        load_video_scorer(tmp_path, "squat")
    _saved(case.blob, tmp_path / "squat__knn.pt")
    with pytest.raises(PredictError, match="no anomaly scorer for target 'wave'; trained targets: squat"):
        load_video_scorer(tmp_path, "wave")
    with pytest.raises(PredictError, match="no anomaly scorer 'ocsvm' for target 'squat'; trained: knn"):
        load_video_scorer(tmp_path, "squat", "ocsvm")
    assert load_video_scorer(tmp_path, "squat").name == "knn"


def test_a_scorer_without_lineage_or_a_bad_video_is_refused(case: Case, tmp_path: Path):
    with pytest.raises(PredictError, match="no embedding/preprocessing lineage.*--pipelines anomaly"):
        VideoScorer.from_blob({k: v for k, v in case.blob.items() if k != "lineage"})
    scorer = VideoScorer.from_blob(case.blob)
    with pytest.raises(PredictError, match="no such file"):
        scorer.score(tmp_path / "nope.mp4")
    (tmp_path / "text.mp4").write_text("not a video")
    with pytest.raises(PredictError, match="not a readable video"):
        scorer.timeline(tmp_path / "text.mp4")
