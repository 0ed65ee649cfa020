"""Classify one video: the top-k table and the action timeline, shared by ``actionlab predict``
and the ``inference`` pipeline (no kedro). Settings are the ``inference`` parameter group."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from actionlab.inference.predictor import PredictError, Predictor
from actionlab.inference.timeline import Timeline, TimelineError, build_timeline
from actionlab.plots.timeline import class_colors, timeline_figure
from actionlab.video.overlay import Overlay

__all__ = ["top_k_table", "video_timeline", "timeline_outputs"]

RANGE = ("start", "end", "duration")


def _range(params: Mapping[str, Any]) -> dict[str, float | None]:
    return {k: None if params.get(k) is None else float(params[k]) for k in RANGE}


def top_k_table(predictor: Predictor, video: str | Path, params: Mapping[str, Any]) -> pd.DataFrame:
    """Rows (video, start, end, duration, model, rank, label, probability) of the ``top_k``
    actions of the range of ``video`` classified as one clip."""
    table = predictor.top_k_frame(predictor.predict_proba(video, **_range(params)), int(params["top_k"]))
    return table.assign(video=str(video), **_range(params), model=predictor.name)[
        ["video", *RANGE, "model", "rank", "label", "probability"]
    ]


def video_timeline(predictor: Predictor, video: str | Path, params: Mapping[str, Any]) -> Timeline:
    """Windows over the range (``params["timeline"]``: window, stride, smoothing, min_duration,
    background_threshold), their probabilities and the merged segments."""
    settings = params["timeline"]
    starts, ends, probs = predictor.predict_windows(
        video, **_range(params), window=settings["window"], stride=settings["stride"]
    )
    try:
        return build_timeline(
            probs, starts, ends, predictor.classes, smoothing=int(settings["smoothing"]),
            min_duration=float(settings["min_duration"]), background_threshold=settings["background_threshold"],
        )  # fmt: skip
    except TimelineError as err:
        raise PredictError(f"inference.timeline: {err}") from err


def timeline_outputs(
    predictor: Predictor, video: str | Path, timeline: Timeline
) -> tuple[pd.DataFrame, Figure, Overlay]:
    """Per-window table (start, end, label, confidence, p_<class>), the timeline figure and the
    overlay video to write (in the timeline's colours)."""
    windows = timeline.windows[["start", "end", "label", "confidence"]].copy()
    for k, name in enumerate(predictor.classes):
        windows[f"p_{name}"] = timeline.probs[:, k]
    figure = timeline_figure(
        timeline.centres, timeline.smoothed, predictor.classes, timeline.segments,
        title=f"{Path(video).name} ({predictor.name})",
    )  # fmt: skip
    segments = [tuple(s) for s in timeline.segments.itertuples(index=False, name=None)]
    overlay = Overlay(source=str(video), segments=segments, colors=class_colors(predictor.classes))  # type: ignore[arg-type]
    return windows, figure, overlay
