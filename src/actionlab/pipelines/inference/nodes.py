"""Inference nodes: choose the classifier, classify the video's range, draw its timeline."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from actionlab.inference.classify import timeline_outputs, top_k_table, video_timeline
from actionlab.inference.loading import load_predictor
from actionlab.inference.predictor import Predictor
from actionlab.video.overlay import Overlay

logger = logging.getLogger(__name__)


def _video(params: dict[str, Any]) -> str:
    if not params.get("video"):
        raise ValueError(
            "inference.video is not set: name the video to classify, e.g. "
            '`kedro run --pipeline inference --params "inference.video=path/to/video.mp4"`.'
        )
    return str(params["video"])


def load_model(
    classifiers: dict[str, Callable[[], dict[str, Any]]], comparison: pd.DataFrame, model: str | None,
    registered_model_name: str,
) -> Predictor:  # fmt: skip
    """The classifier ``inference.model`` names (null: the registered model, else the best kept
    one), with the preprocessing and encoder it was trained with."""
    predictor = load_predictor(
        model, local=classifiers, comparison=comparison, registered_model_name=registered_model_name
    )
    logger.info("Inference: %s (%d classes)", predictor.name, len(predictor.classes))
    return predictor


def classify_video(predictor: Predictor, params: dict[str, Any]) -> pd.DataFrame:
    """The ``inference.top_k`` actions of the range of ``inference.video``, as one clip."""
    table = top_k_table(predictor, _video(params), params)
    logger.info("Inference: %s\n%s", params["video"], table[["rank", "label", "probability"]].to_string(index=False))
    return table


def draw_timeline(
    predictor: Predictor, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]], Figure, Overlay]:
    """Windows over the range, merged into segments (CSV and JSON), plotted and drawn on the video."""
    video = _video(params)
    timeline = video_timeline(predictor, video, params)
    windows, figure, overlay = timeline_outputs(predictor, video, timeline)
    segments = timeline.segments
    logger.info("Inference timeline of %s:\n%s", video, segments.to_string(index=False))
    return windows, segments, segments.to_dict(orient="records"), figure, overlay
