"""Anomaly nodes: fit a one-class scorer per target and model on the target's correct clips,
score every clip, threshold by the configured rule, then measure and plot."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from actionlab.anomaly.data import incorrect_mask, target_sets
from actionlab.anomaly.scorers import build_scorer, scorer_blob
from actionlab.anomaly.thresholds import choose_threshold
from actionlab.lineage import with_lineage
from actionlab.manifest.build import median_clip_seconds
from actionlab.metrics.anomaly import anomaly_metrics, anomaly_table, false_positive_rate
from actionlab.plots.anomaly import roc_figure, score_distribution_figure

logger = logging.getLogger(__name__)
SCORE_COLUMNS = ["video_id", "label", "variant", "split", "target", "model", "score", "threshold", "flagged"]


def _variants(clip_embeddings: pd.DataFrame, manifest: pd.DataFrame) -> pd.Series:
    """Each clip's ``variant`` (from the manifest by video id; empty when there is none)."""
    if "variant" in clip_embeddings:
        return clip_embeddings["variant"].astype("string").fillna("")
    if "variant" not in manifest:
        return pd.Series([""] * len(clip_embeddings), dtype="string")
    by_video = manifest.drop_duplicates("video_id").set_index("video_id")["variant"].astype("string")
    return clip_embeddings["video_id"].map(by_video).astype("string").fillna("")


def _clip_seconds(manifest: pd.DataFrame, video_ids: pd.Series) -> dict[str, float]:
    """``{"clip_seconds": median source length of these clips}`` (empty when unknown): the
    default window of a timeline over a new video (``actionlab score --timeline``)."""
    seconds = median_clip_seconds(manifest.drop_duplicates("video_id").set_index("video_id").reindex(video_ids))
    return {} if seconds is None else {"clip_seconds": seconds}


def _targets(labels: np.ndarray, target: str) -> list[str]:
    return sorted({str(label) for label in labels} - {""}) if target == "all" else [str(target)]


def train_anomaly_scorers(
    clip_embeddings: pd.DataFrame, manifest: pd.DataFrame, params: dict[str, Any]
) -> tuple[dict[str, dict[str, Any]], pd.DataFrame]:
    """For each target (every label when ``anomaly.target`` is ``all``) and each model of
    ``anomaly.models``: fit on the target's correct train clips, validate on its correct val
    clips, score every clip and choose the threshold by ``anomaly.threshold``. Returns the blobs
    (``<target>__<model>``: threshold, the lineage of the embeddings and the training clips'
    median length included) and the scores table."""
    labels = clip_embeddings["label"].astype("string").fillna("").str.strip().to_numpy(str)
    splits = clip_embeddings["split"].astype(str).to_numpy()
    variants = _variants(clip_embeddings, manifest)
    incorrect = incorrect_mask(variants)
    x = np.stack(clip_embeddings["embedding"].to_numpy()).astype(np.float64)
    rule = params["threshold"]
    lineage = with_lineage(pd.DataFrame(), clip_embeddings, params={"anomaly": params}).attrs["lineage"]
    blobs, tables = {}, []
    for target in _targets(labels, str(params["target"])):
        sets = target_sets(labels, splits, incorrect, target)
        if len(sets.train) < 2:
            raise ValueError(f"anomaly target {target!r}: {len(sets.train)} correct train clips; need at least 2")
        for model in dict.fromkeys(params["models"]):
            scorer = build_scorer(model, params.get(model) or {}, seed=params["seed"], train=params.get("train"),
                                  device=params["device"], progress=params["progress"])  # fmt: skip
            scorer.fit(x[sets.train], x[sets.val] if len(sets.val) else None)
            scores = scorer.score(x)
            val = scores[sets.val] if len(sets.val) else scores[sets.train]
            competitive = rule.get("competitive")
            other = scores[labels == str(competitive)] if competitive else None
            threshold, details = choose_threshold(rule["rule"], val, other, percentile=rule["percentile"])
            blobs[f"{target}__{model}"] = scorer_blob(
                scorer, target=target, threshold=threshold, threshold_details=details, lineage=lineage,
                **_clip_seconds(manifest, clip_embeddings["video_id"].iloc[sets.train].astype(str)),
            )  # fmt: skip
            tables.append(pd.DataFrame({
                "video_id": clip_embeddings["video_id"].astype(str), "label": labels, "variant": variants,
                "split": splits, "target": target, "model": model, "score": scores, "threshold": threshold,
                "flagged": scores >= threshold,
            }))  # fmt: skip
            logger.info("Anomaly %s / %s: threshold %.4g (%s)", target, model, threshold, rule["rule"])
    table = pd.concat(tables, ignore_index=True)[SCORE_COLUMNS]
    return blobs, with_lineage(table, clip_embeddings, params={"anomaly": params})


def _test_rows(scores: pd.DataFrame, target: str) -> pd.DataFrame:
    """The test clips of one target's scores: all but its correct train and val clips."""
    incorrect = incorrect_mask(scores["variant"])
    sets = target_sets(scores["label"], scores["split"], incorrect, target)
    return scores.iloc[sets.test].assign(incorrect=incorrect[sets.test])


def evaluate_anomaly(
    scores: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Figure]]:
    """The report (target x model x comparison: ROC-AUC, average precision, TPR and FPR at the
    threshold), the MLflow metrics ``anomaly.<target>.<model>.<measure>`` and per target the score
    distributions and ROC curves of each model (``<target>__<model>__scores`` / ``__roc``)."""
    del params
    rows, metrics, figures = [], {}, {}
    for (target, model), own in scores.groupby(["target", "model"], sort=False):
        test = _test_rows(own.reset_index(drop=True), str(target))
        threshold = float(own["threshold"].iloc[0])
        table = anomaly_table(test, str(target), threshold)
        fpr = false_positive_rate(test, str(target), threshold)
        rows.append(table.assign(target=target, model=model, threshold=threshold, fpr=fpr))
        for key, value in anomaly_metrics(table, fpr).items():
            metrics[f"{target}.{model}.{key}"] = [{"value": value, "step": 0}]
        name = f"{target}__{model}"
        figures[f"{name}__scores"] = score_distribution_figure(test, str(target), threshold,
                                                               title=f"Anomaly scores, target {target}, {model}")
        figures[f"{name}__roc"] = roc_figure(test, str(target), title=f"ROC, target {target}, {model}")
    report = pd.concat(rows, ignore_index=True)
    report = report[["target", "model", *[c for c in report.columns if c not in ("target", "model")]]]
    logger.info("Anomaly report:\n%s", report.round(4).to_string(index=False))
    return report, metrics, figures
