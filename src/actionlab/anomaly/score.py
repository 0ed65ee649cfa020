"""Score a new video with a saved anomaly scorer: one score, the threshold and the verdict, and a
timeline of window scores marking where the execution deviates (no kedro).

A scorer blob (``scorer_blob``, written by the ``anomaly`` pipeline) carries the lineage of the
clip embeddings it was fitted on and the median length of its training clips (``clip_seconds``).
:class:`VideoScorer` rebuilds the path of those embeddings with the classifier's code
(``actionlab.inference.predictor.VideoFeatures``):

    video (time range) -> load_clip(preprocessing params) -> encoder(embedding params)
    -> clip embedding (or frame features) -> scorer -> score; ``anomalous`` when score >= threshold

The timeline lays windows of the training clip length over the video (``anomaly.timeline``), scores
each window as one clip and merges the consecutive windows at or above the threshold into
stretches. Overlapping windows share the time axis as in the action timeline
(``actionlab.inference.timeline.window_spans``): each window owns the part nearest its centre, so a
stretch runs from the owned start of its first window to the owned end of its last.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from actionlab.anomaly.scorers import FRAME_FEATURES, Scorer, scorer_from_blob
from actionlab.anomaly.thresholds import flagged_stretches
from actionlab.engine.atomic import atomic_path
from actionlab.inference.predictor import PredictError, VideoFeatures, window_frames
from actionlab.inference.timeline import window_spans
from actionlab.metrics.anomaly import ALL_OTHERS, INCORRECT
from actionlab.models import FrameEncoder

__all__ = [
    "ANOMALOUS", "NORMAL", "WINDOW_COLUMNS", "ScoreTimeline", "VideoScore", "VideoScorer", "default_model",
    "load_video_scorer", "scorer_files", "write_timeline",
]  # fmt: skip

NORMAL, ANOMALOUS = "normal", "anomalous"  # the verdicts
WINDOW_COLUMNS = ["start", "end", "score", "flagged"]  # one timeline window: seconds, seconds, score, bool
BATCH = 32  # windows decoded and encoded at a time (bounds memory on long videos)
RETRAIN = "kedro run --pipeline anomaly"


@dataclass
class VideoScore:
    """One range of a video scored as one clip."""

    score: float
    threshold: float
    verdict: str  # NORMAL | ANOMALOUS
    start: float  # seconds
    end: float
    sampled_end: float  # the clip's frames reach this far (a training clip's cap, ``window_frames``)


@dataclass
class ScoreTimeline:
    """Window scores over a video (``WINDOW_COLUMNS``) and the stretches ``(start, end)`` in
    seconds where they reach the threshold."""

    windows: pd.DataFrame
    stretches: list[tuple[float, float]]
    threshold: float
    window: float  # window length, seconds (the last window may be shifted to end with the range)
    stride: float  # seconds between window starts
    meta: dict[str, Any] = field(default_factory=dict)

    def stretch_records(self) -> list[dict[str, float]]:
        """The stretches as ``{start, end, max_score}`` (the highest window score inside)."""
        w = self.windows
        centres = (w["start"] + w["end"]) / 2
        return [
            {"start": a, "end": b,
             "max_score": float(w.loc[w["flagged"] & centres.between(a, b), "score"].max())}
            for a, b in self.stretches
        ]  # fmt: skip


@dataclass(kw_only=True)
class VideoScorer(VideoFeatures):
    """A fitted one-class scorer with the preprocessing and encoder its training clips had."""

    name: str  # the scorer (``knn``, ``autoencoder``, ...)
    target: str
    scorer: Scorer
    threshold: float
    threshold_details: dict[str, Any]
    lineage_params: dict[str, Any] = field(default_factory=dict)  # the blob's flat lineage params

    @classmethod
    def from_blob(cls, blob: Mapping[str, Any], ssl_encoder: FrameEncoder | None = None) -> VideoScorer:
        """Build from a scorer blob (``scorer_blob`` with ``target``, ``threshold`` and ``lineage``);
        ``ssl_encoder``: needed, and checked, when the embeddings came from the SSL encoder."""
        name, target = str(blob.get("scorer", "?")), str(blob.get("target", "?"))
        if "threshold" not in blob:
            raise PredictError(f"anomaly scorer {target}__{name} has no threshold; retrain it with `{RETRAIN}`.")
        clip, encoder = cls.from_lineage(blob, ssl_encoder, what=f"anomaly scorer {target}__{name}", pipeline="anomaly")
        return cls(
            name=name, target=target, scorer=scorer_from_blob(blob), threshold=float(blob["threshold"]),
            threshold_details=dict(blob.get("threshold_details") or {}), clip_params=clip, encoder=encoder,
            clip_seconds=blob.get("clip_seconds"),
            segmentation=cls.segmentation_of(blob, what=f"anomaly scorer {target}__{name}", pipeline="anomaly"),
            lineage_params=dict((blob.get("lineage") or {}).get("params") or {}),
        )  # fmt: skip

    def verdict(self, score: float) -> str:
        """``anomalous`` when ``score >= threshold``, else ``normal``."""
        return ANOMALOUS if score >= self.threshold else NORMAL

    def scores_of_clips(self, clips: list[np.ndarray]) -> np.ndarray:
        """Anomaly scores ``(n,)`` of preprocessed clips (T, S, S, 3) uint8."""
        encoded = self.encode(clips)
        if self.scorer.input == FRAME_FEATURES:
            return self.scorer.score([f.astype(np.float32) for f, _ in encoded])
        return self.scorer.score(np.stack([e for _, e in encoded]).astype(np.float64))

    def score(self, path: str | Path, start: float | None = None, end: float | None = None,
              duration: float | None = None) -> VideoScore:  # fmt: skip
        """The range of the video (default: all of it) scored as one clip."""
        info, t0, t1 = self.time_range(path, start, end, duration)
        value = float(self.scores_of_clips([self.clip(path, t0, t1)])[0])
        cap = window_frames(self.clip_params)
        reach = min(t1, t0 + cap / info.fps) if cap and info.fps > 0 else t1
        return VideoScore(value, self.threshold, self.verdict(value), t0, t1, reach)

    def timeline(self, path: str | Path, start: float | None = None, end: float | None = None,
                 duration: float | None = None, *, window: float | None = None,
                 stride: float | None = None) -> ScoreTimeline:  # fmt: skip
        """Window scores over the range (``window`` seconds, default: the training clips' median
        length; every ``stride`` seconds, default half a window) and the flagged stretches."""
        starts, ends = self.windows(path, start, end, duration, window=window, stride=stride)
        spans = list(zip(starts.tolist(), ends.tolist(), strict=True))
        scores = np.concatenate([
            self.scores_of_clips([self.clip(path, a, b) for a, b in spans[i : i + BATCH]])
            for i in range(0, len(spans), BATCH)
        ])  # fmt: skip
        table = pd.DataFrame({"start": starts, "end": ends, "score": scores, "flagged": scores >= self.threshold})
        own_start, own_end = window_spans(starts, ends)
        runs = flagged_stretches(np.arange(len(scores)), scores, self.threshold)
        stretches = [(float(own_start[int(a)]), float(own_end[int(b)])) for a, b in runs]
        length = float(np.median(ends - starts))
        step = float(np.median(np.diff(starts))) if len(starts) > 1 else length
        return ScoreTimeline(table, stretches, self.threshold, length, step)

    def rule_text(self) -> str:
        """How the threshold was chosen, in words (from ``threshold_details``)."""
        d = self.threshold_details
        rule = d.get("rule", "?")
        scores = d.get("scores", "validation")
        if rule == "percentile":
            return f"percentile {d.get('percentile', float('nan')):g} of {self.target}'s correct {scores} scores"
        value = d.get(rule)
        against = d.get("competitive") or self.lineage_params.get("anomaly.threshold.competitive")
        best = f"{rule} {value:.3g}" if isinstance(value, float) else str(rule)
        return f"best {best} against {against}" if against else best


def scorer_files(folder: str | Path) -> dict[tuple[str, str], Path]:
    """The saved scorers ``{(target, model): path}`` of the folder (``<target>__<model>.pt``)."""
    out = {}
    for p in sorted(Path(folder).glob("*.pt")):
        target, sep, model = p.stem.rpartition("__")
        if sep:
            out[(target, model)] = p
    return out


def default_model(target: str, available: Sequence[str], report: pd.DataFrame | None,
                  models: Sequence[str] = ()) -> str | None:  # fmt: skip
    """The model to score ``target`` with: the best ROC-AUC of the target in the last anomaly
    ``report`` (against its own incorrect executions when the report has that comparison, else
    against all other clips) among the ``available`` ones; else the first of ``models``
    (``anomaly.models``) that is available; else the first available one."""
    if report is not None and not report.empty and {"target", "model", "comparison", "roc_auc"} <= set(report):
        own = report[report["target"].astype(str) == str(target)]
        comparison = INCORRECT if (own["comparison"] == INCORRECT).any() else ALL_OTHERS
        rows = own[(own["comparison"] == comparison) & own["model"].astype(str).isin(available)]
        rows = rows.dropna(subset=["roc_auc"]).sort_values("roc_auc", ascending=False, kind="stable")
        if len(rows):
            return str(rows["model"].iloc[0])
    for name in [*models, *available]:
        if name in available:
            return str(name)
    return None


def load_video_scorer(
    folder: str | Path, target: str, model: str | None = None, *, report: pd.DataFrame | None = None,
    models: Sequence[str] = (), ssl_encoder: str | Path | None = None,
) -> VideoScorer:  # fmt: skip
    """The :class:`VideoScorer` of ``target`` and ``model`` (default: :func:`default_model`) from
    the scorers saved in ``folder``; clear errors when there are none, or none for the target or
    model. ``ssl_encoder``: the SSL encoder file, loaded when the lineage needs it."""
    from actionlab.inference.loading import lineage_ssl_encoder

    files = scorer_files(folder)
    if not files:
        raise PredictError(f"no anomaly scorers in {folder} yet: run `{RETRAIN}` in the project folder first.")
    targets = sorted({t for t, _ in files})
    if target not in targets:
        raise PredictError(
            f"no anomaly scorer for target {target!r}; trained targets: {', '.join(targets)}. Pass one of them, "
            f"or train it with `{RETRAIN}` (anomaly.target: {target} or all)."
        )
    available = [m for t, m in files if t == target]
    chosen = model or default_model(target, available, report, models)
    if chosen not in available:
        raise PredictError(
            f"no anomaly scorer {chosen!r} for target {target!r}; trained: {', '.join(available)} "
            f"(anomaly.models; retrain with `{RETRAIN}`)."
        )
    blob = torch.load(files[(target, chosen)], map_location="cpu", weights_only=True)
    return VideoScorer.from_blob(blob, ssl_encoder=lineage_ssl_encoder(blob, ssl_encoder))


def write_timeline(timeline: ScoreTimeline, folder: str | Path, name: str, *, figure: Any = None) -> list[Path]:
    """``<name>.csv`` (the windows), ``<name>.json`` (the stretches with ``timeline.meta``) and,
    when a ``figure`` is given, ``<name>.png`` in ``folder``; returns the paths written."""
    base = Path(folder) / name
    paths = [base.with_suffix(".csv"), base.with_suffix(".json")]
    with atomic_path(paths[0]) as tmp:
        timeline.windows[WINDOW_COLUMNS].to_csv(tmp, index=False)
    record = {**timeline.meta, "threshold": timeline.threshold, "window": timeline.window, "stride": timeline.stride,
              "stretches": timeline.stretch_records()}  # fmt: skip
    with atomic_path(paths[1]) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
    if figure is not None:
        paths.append(base.with_suffix(".png"))
        with atomic_path(paths[2]) as tmp:
            figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    return paths
