"""Anomaly nodes: fit a one-class scorer per target and model on the target's correct clips,
score every clip, threshold by the configured rule, then measure and plot."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from actionlab.anomaly.data import competitive_label, incorrect_mask, target_sets, threshold_clips
from actionlab.anomaly.scorers import build_scorer, scorer_blob
from actionlab.anomaly.thresholds import choose_threshold
from actionlab.lineage import with_lineage
from actionlab.manifest.build import median_clip_seconds
from actionlab.metrics.anomaly import (
    anomaly_metrics,
    anomaly_table,
    competitive_report,
    false_positive_rate,
)
from actionlab.plots.anomaly import roc_figure, score_distribution_figure
from actionlab.plots.classification import confusion_matrix_figure

logger = logging.getLogger(__name__)
SCORE_COLUMNS = [
    "video_id", "label", "variant", "split", "target", "model", "score", "threshold", "flagged", "competitive",
]  # fmt: skip


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
            problem = (f"anomaly target {target!r}: {len(sets.train)} correct train clip(s), a scorer needs at "
                       "least 2; add clips of it (or raise ingestion.synthetic.clips_per_action)")  # fmt: skip
            if params["target"] != "all":
                raise ValueError(problem)
            logger.warning("%s; skipped", problem)
            continue
        for model in dict.fromkeys(params["models"]):
            scorer = build_scorer(model, params.get(model) or {}, seed=params["seed"], train=params.get("train"),
                                  device=params["device"], progress=params["progress"])  # fmt: skip
            scorer.fit(x[sets.train], x[sets.val] if len(sets.val) else None)
            scores = scorer.score(x)
            val = scores[sets.val] if len(sets.val) else scores[sets.train]
            competitive = competitive_label(scores, labels, splits, sets, target=target,
                                            competitive=rule.get("competitive"))  # fmt: skip
            if rule["rule"] != "percentile" and competitive is None:
                raise ValueError(f"anomaly target {target!r}: threshold rule {rule['rule']} needs a competitive "
                                 "class other than the target (anomaly.threshold.competitive)")  # fmt: skip
            other = scores[threshold_clips(labels, splits, competitive)] if competitive else None
            threshold, details = choose_threshold(rule["rule"], val, other, percentile=rule["percentile"])
            blobs[f"{target}__{model}"] = scorer_blob(
                scorer, target=target, threshold=threshold, threshold_details=details, competitive=competitive or "",
                lineage=lineage, **_clip_seconds(manifest, clip_embeddings["video_id"].iloc[sets.train].astype(str)),
            )  # fmt: skip
            tables.append(pd.DataFrame({
                "video_id": clip_embeddings["video_id"].astype(str), "label": labels, "variant": variants,
                "split": splits, "target": target, "model": model, "score": scores, "threshold": threshold,
                "flagged": scores >= threshold, "competitive": competitive or "",
            }))  # fmt: skip
            logger.info("Anomaly %s / %s: threshold %.4g (%s)", target, model, threshold, rule["rule"])
    if not tables:
        raise ValueError("anomaly: no target has the 2 correct train clips a scorer needs (see the warnings above)")
    table = pd.concat(tables, ignore_index=True)[SCORE_COLUMNS]
    return blobs, with_lineage(table, clip_embeddings, params={"anomaly": params})


def _test_rows(scores: pd.DataFrame, target: str) -> pd.DataFrame:
    """The test clips of one target's scores: all but its correct train and val clips."""
    incorrect = incorrect_mask(scores["variant"])
    sets = target_sets(scores["label"], scores["split"], incorrect, target)
    return scores.iloc[sets.test].assign(incorrect=incorrect[sets.test])


def _competitive(test: pd.DataFrame, target: str, competitive: str, threshold: float
                 ) -> tuple[pd.DataFrame, Figure | None, float]:  # fmt: skip
    """Target vs its competitive class at the threshold on the test split: the classification
    report, the confusion-matrix figure and the accuracy (empty / None / NaN without test clips)."""
    rows = test[test["split"].astype(str) == "test"]
    if not ((rows["label"].astype(str) == competitive).any() and (rows["label"].astype(str) == target).any()):
        return pd.DataFrame(), None, float("nan")
    report, matrix, seen = competitive_report(rows, target, competitive, threshold)
    accuracy = float(np.trace(matrix.to_numpy()) / max(matrix.to_numpy().sum(), 1))
    figure = confusion_matrix_figure(seen["y_true"], seen["y_pred"], seen["labels"],
                                     title=f"{target} vs {competitive} at the threshold")  # fmt: skip
    return report, figure, accuracy


def evaluate_anomaly(
    scores: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], dict[str, Figure]]:
    """The report (target x model x comparison: ROC-AUC, average precision, TPR and FPR at the
    threshold), the classification report of each target against its competitive class (test
    split, at the threshold), the MLflow metrics ``anomaly.<target>.<model>.<measure>`` and per
    target and model the score distributions, ROC curves and competitive confusion matrix
    (``<target>__<model>__scores`` / ``__roc`` / ``__confusion``)."""
    del params
    rows, competitive_rows, metrics, figures = [], [], {}, {}
    for (target_key, model_key), own in scores.groupby(["target", "model"], sort=False):
        target, model = str(target_key), str(model_key)
        test = _test_rows(own.reset_index(drop=True), target)
        threshold = float(own["threshold"].iloc[0])
        table = anomaly_table(test, target, threshold)
        fpr = false_positive_rate(test, target, threshold)
        rows.append(table.assign(target=target, model=model, threshold=threshold, fpr=fpr))
        measured = anomaly_metrics(table, fpr)
        name = f"{target}__{model}"
        competitive = str(own["competitive"].iloc[0]) if "competitive" in own else ""
        if competitive:
            report, figure, accuracy = _competitive(test, target, competitive, threshold)
            if figure is not None:
                competitive_rows.append(report.assign(target=target, model=model, competitive=competitive))
                figures[f"{name}__confusion"] = figure
                measured["competitive_accuracy"] = accuracy
        for key, value in measured.items():
            metrics[f"{target}.{model}.{key}"] = [{"value": value, "step": 0}]
        figures[f"{name}__scores"] = score_distribution_figure(test, target, threshold,
                                                               title=f"Anomaly scores, target {target}, {model}")
        figures[f"{name}__roc"] = roc_figure(test, target, title=f"ROC, target {target}, {model}")
    report = pd.concat(rows, ignore_index=True)
    report = report[["target", "model", *[c for c in report.columns if c not in ("target", "model")]]]
    logger.info("Anomaly report:\n%s", report.round(4).to_string(index=False))
    columns = ["target", "model", "competitive", "class", "precision", "recall", "f1-score", "support"]
    competitive = (pd.concat(competitive_rows, ignore_index=True)[columns] if competitive_rows
                   else pd.DataFrame(columns=columns))  # fmt: skip
    return report, competitive, metrics, figures
