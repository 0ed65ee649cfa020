"""Anomaly nodes: fit a one-class scorer per target and model on the target's correct clips,
score every clip, threshold by the configured rule, then measure and plot."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from actionlab.anomaly.augment import (
    AUGMENTED_COLUMNS,
    augment_sources,
    augmented_clips,
    augmented_sequences,
)
from actionlab.anomaly.data import competitive_label, incorrect_mask, target_sets, threshold_clips
from actionlab.anomaly.scorers import (
    FRAME_FEATURES,
    TRAINED,
    build_scorer,
    out_of_fold_scores,
    scorer_blob,
)
from actionlab.anomaly.thresholds import choose_threshold
from actionlab.encoders import build_encoder
from actionlab.encoders.items import embedding_key
from actionlab.engine import PartitionStore
from actionlab.keys import module_digest
from actionlab.lineage import with_lineage
from actionlab.manifest.build import median_clip_seconds
from actionlab.metrics.anomaly import (
    anomaly_metrics,
    anomaly_table,
    competitive_report,
    false_positive_rate,
)
from actionlab.models import FrameEncoder
from actionlab.models.compare import LazySequences, stored_sequence
from actionlab.plots.anomaly import frame_error_figure, roc_figure, score_distribution_figure
from actionlab.plots.classification import confusion_matrix_figure
from actionlab.plots.training import history_figure
from actionlab.runtime import resolve_device
from actionlab.video.items import stored_frames

logger = logging.getLogger(__name__)
SCORE_COLUMNS = [
    "video_id", "label", "variant", "split", "target", "model", "score", "threshold", "flagged", "competitive",
]  # fmt: skip
HISTORY_COLUMNS = ["target", "model", "epoch", "train_loss", "val_loss"]
FRAME_ERROR_COLUMNS = ["target", "model", "group", "video_id", "label", "variant", "split", "frame", "error",
                       "threshold"]  # fmt: skip


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


def augment_anomaly_clips(
    *, clip_embeddings: pd.DataFrame, manifest: pd.DataFrame, clip_index: pd.DataFrame, clips: PartitionStore,
    ssl_encoder: FrameEncoder | None, params: dict[str, Any], embedding: dict[str, Any],
) -> pd.DataFrame:  # fmt: skip
    """``anomaly.augment.copies`` augmented copies of every target's correct train clips: the
    stored frames through one ``ClipAugment`` draw per copy, encoded by the embedding encoder
    with the ``embedding`` parameters that made ``clip_embeddings`` (an empty table when
    ``copies`` is 0)."""
    config = params["augment"]
    labels = clip_embeddings["label"].astype("string").fillna("").str.strip().to_numpy(str)
    incorrect = incorrect_mask(_variants(clip_embeddings, manifest))
    picks = augment_sources(labels, clip_embeddings["split"].astype(str).to_numpy(), incorrect,
                            _targets(labels, str(params["target"]))) if config["copies"] else []  # fmt: skip
    sources = clip_embeddings.iloc[picks].assign(label=labels[picks]).drop_duplicates("video_id")
    if len(sources) and embedding["input"] == "segmented":
        raise ValueError(
            "anomaly.augment.copies > 0 augments the preprocessed clips, but embedding.input=segmented "
            "embeds the segmented ones; set anomaly.augment.copies=0 or embedding.input=raw."
        )
    if len(sources):
        name = embedding["encoder"]
        ssl = ssl_encoder if name == "ssl" else None
        if name == "ssl" and ssl is None:
            raise ValueError("anomaly.augment with embedding.encoder=ssl needs data/04_feature/ssl_encoder.pt")
        fingerprint = module_digest(ssl) if ssl is not None else ""
        stale = [k for k, f in zip(sources["clip_key"], sources["feature_key"], strict=True)
                 if embedding_key(str(k), embedding, fingerprint) != str(f)]  # fmt: skip
        if stale:
            raise ValueError(
                f"{len(stale)} clip embeddings (e.g. of clip {stale[0]!r}) were made with other embedding "
                "parameters or weights than the current ones; run the embedding pipeline again."
            )
        encoder = build_encoder(name, embedding, ssl_encoder=ssl, device=str(resolve_device(embedding["device"])))
        logger.info("Anomaly: %d augmented copies of %d correct train clips", config["copies"] * len(sources),
                    len(sources))  # fmt: skip
        table = augmented_clips(sources, partial(stored_frames, clips), encoder.encode_many, config,
                                seed=params["seed"])  # fmt: skip
    else:
        table = pd.DataFrame(columns=AUGMENTED_COLUMNS)
    return with_lineage(table, clip_embeddings, clip_index, params={"anomaly": params, "embedding": embedding})


def _extra(augmented: pd.DataFrame, train_ids: np.ndarray, kind: str) -> list[np.ndarray]:
    """The augmented copies of the clips ``train_ids``: their embeddings or frame features."""
    own = augmented[augmented["video_id"].astype(str).isin(set(train_ids))] if len(augmented) else augmented
    if not len(own):
        return []
    if kind == FRAME_FEATURES:
        return augmented_sequences(own)
    return list(np.stack(own["embedding"].to_numpy()).astype(np.float64))


def _frame_error_rows(scorer: Any, sequences: LazySequences, test: pd.DataFrame, target: str, *,
                      threshold: float, count: int) -> pd.DataFrame:  # fmt: skip
    """Per-frame errors of ``count`` test clips of each group: the target's correct ones, its
    incorrect ones and those of the other label with the lowest median score (the most similar)."""
    same = test["label"] == target
    groups = {"correct": test[same & ~test["incorrect"]], "incorrect": test[same & test["incorrect"]]}
    others = test[~same]
    if len(others):
        nearest = others.groupby("label")["score"].median().idxmin()
        groups[f"other ({nearest})"] = others[others["label"] == nearest]
    rows = []
    for group, own in groups.items():
        picked = own.head(count)
        errors = scorer.frame_scores(sequences.take(picked.index))
        for (_, row), err in zip(picked.iterrows(), errors, strict=True):
            rows.append(pd.DataFrame({
                "group": group, "video_id": row["video_id"], "label": row["label"], "variant": row["variant"],
                "split": row["split"], "frame": np.arange(len(err)), "error": err, "threshold": threshold,
            }))  # fmt: skip
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=FRAME_ERROR_COLUMNS[2:])
    return out.assign(target=target, model=scorer.name)


def _loss_metrics(history: pd.DataFrame) -> dict[str, list[dict[str, float]]]:
    """MLflow metric histories ``<target>.<model>.train_loss`` / ``.val_loss`` with step = epoch."""
    metrics: dict[str, list[dict[str, float]]] = {}
    for (target, model), own in history.groupby(["target", "model"], sort=False):
        for loss in ("train_loss", "val_loss"):
            steps = own[own[loss].notna()]
            if len(steps):
                metrics[f"{target}.{model}.{loss}"] = [
                    {"value": float(v), "step": int(e)} for e, v in zip(steps["epoch"], steps[loss], strict=True)
                ]  # fmt: skip
    return metrics


def train_anomaly_scorers(
    clip_embeddings: pd.DataFrame, manifest: pd.DataFrame, frame_features: PartitionStore,
    augmented: pd.DataFrame, params: dict[str, Any],
) -> tuple[dict[str, dict[str, Any]], pd.DataFrame, pd.DataFrame, dict[str, Any], pd.DataFrame]:  # fmt: skip
    """For each target (every label when ``anomaly.target`` is ``all``) and each model of
    ``anomaly.models``: fit on the target's correct train clips (plus their augmented copies),
    validate on its correct val clips, score every clip and choose the threshold by
    ``anomaly.threshold``. The models of ``frame_features`` input (``sequence_autoencoder``) read
    each clip's per-frame features. Returns the blobs (``<target>__<model>``: threshold, the
    lineage of the embeddings and the training clips' median length included), the scores
    table, the loss histories of the trained models (a table and the MLflow metric histories)
    and the per-frame errors of a few test clips (sequence models)."""
    labels = clip_embeddings["label"].astype("string").fillna("").str.strip().to_numpy(str)
    splits = clip_embeddings["split"].astype(str).to_numpy()
    video_ids = clip_embeddings["video_id"].astype(str).to_numpy()
    variants = _variants(clip_embeddings, manifest)
    incorrect = incorrect_mask(variants)
    x = np.stack(clip_embeddings["embedding"].to_numpy()).astype(np.float64)
    sequences = LazySequences(clip_embeddings["feature_key"].astype(str), partial(stored_sequence, frame_features))
    rule = params["threshold"]
    lineage = with_lineage(pd.DataFrame(), clip_embeddings, params={"anomaly": params}).attrs["lineage"]
    blobs, tables, histories, frame_errors = {}, [], [], []
    every_sequence: list[np.ndarray] | None = None  # read once, for the first frame-feature scorer
    for target in _targets(labels, str(params["target"])):
        sets = target_sets(labels, splits, incorrect, target)
        needed = 2 if len(sets.val) else 3  # without validation clips the threshold needs out-of-fold scores
        if len(sets.train) < needed:
            problem = (f"anomaly target {target!r}: {len(sets.train)} correct train clip(s) and {len(sets.val)} "
                       f"validation clip(s), a scorer needs at least {needed} train clips then; add clips of it "
                       "(or raise ingestion.synthetic.clips_per_action)")  # fmt: skip
            if params["target"] != "all":
                raise ValueError(problem)
            logger.warning("%s; skipped", problem)
            continue
        clip_seconds = _clip_seconds(manifest, clip_embeddings["video_id"].iloc[sets.train].astype(str))
        for model in dict.fromkeys(params["models"]):
            scorer = build_scorer(model, params.get(model) or {}, seed=params["seed"], train=params.get("train"),
                                  device=params["device"], progress=params["progress"])  # fmt: skip
            extra = _extra(augmented, video_ids[sets.train], scorer.input)
            if scorer.input == FRAME_FEATURES:
                if every_sequence is None:
                    every_sequence = sequences.take(range(len(sequences)))
                every = every_sequence
                scorer.fit([every[i] for i in sets.train] + extra,
                           [every[i] for i in sets.val] if len(sets.val) else None)  # fmt: skip
            else:
                every = x
                scorer.fit(np.concatenate([x[sets.train], *([np.stack(extra)] if extra else [])]),
                           x[sets.val] if len(sets.val) else None)  # fmt: skip
            scores = scorer.score(every)
            if len(sets.val):
                val, source = scores[sets.val], "validation"
            else:  # scores of the train clips from scorers that did not see them
                own = [every[i] for i in sets.train] if scorer.input == FRAME_FEATURES else x[sets.train]
                val = out_of_fold_scores(partial(build_scorer, model, params.get(model) or {}, seed=params["seed"],
                                                 train=params.get("train"), device=params["device"]),
                                         own, seed=params["seed"])  # fmt: skip
                source = "out-of-fold train"
            competitive = competitive_label(scores, labels, splits, sets, target=target,
                                            competitive=rule.get("competitive"))  # fmt: skip
            if rule["rule"] != "percentile" and competitive is None:
                raise ValueError(f"anomaly target {target!r}: threshold rule {rule['rule']} needs a competitive "
                                 "class other than the target (anomaly.threshold.competitive)")  # fmt: skip
            other = scores[threshold_clips(labels, splits, competitive)] if competitive else None
            threshold, details = choose_threshold(rule["rule"], val, other, percentile=rule["percentile"])
            details = {**details, "scores": source, "competitive": competitive or ""}
            blobs[f"{target}__{model}"] = scorer_blob(
                scorer, target=target, threshold=threshold, threshold_details=details, competitive=competitive or "",
                lineage=lineage, **clip_seconds,
            )  # fmt: skip
            table = pd.DataFrame({
                "video_id": video_ids, "label": labels, "variant": variants,
                "split": splits, "target": target, "model": model, "score": scores, "threshold": threshold,
                "flagged": scores >= threshold, "competitive": competitive or "",
            })  # fmt: skip
            tables.append(table)
            if model in TRAINED:
                histories.append(scorer.history.assign(target=target, model=model))
            if hasattr(scorer, "frame_scores") and params["frame_plot_clips"]:
                test = table.iloc[sets.test].assign(incorrect=incorrect[sets.test])
                frame_errors.append(_frame_error_rows(scorer, sequences, test, target, threshold=threshold,
                                                      count=params["frame_plot_clips"]))  # fmt: skip
            logger.info("Anomaly %s / %s: threshold %.4g (%s, %d augmented copies)", target, model, threshold,
                        rule["rule"], len(extra))  # fmt: skip
    if not tables:
        raise ValueError("anomaly: no target has the correct train clips a scorer needs (see the warnings above)")
    table = pd.concat(tables, ignore_index=True)[SCORE_COLUMNS]
    history = pd.concat(histories, ignore_index=True)[HISTORY_COLUMNS] if histories else \
        pd.DataFrame(columns=HISTORY_COLUMNS)  # fmt: skip
    errors = pd.concat(frame_errors, ignore_index=True)[FRAME_ERROR_COLUMNS] if frame_errors else \
        pd.DataFrame(columns=FRAME_ERROR_COLUMNS)  # fmt: skip
    used = {"anomaly": params}
    return (blobs, with_lineage(table, clip_embeddings, augmented, params=used), history, _loss_metrics(history),
            with_lineage(errors, clip_embeddings, params=used))  # fmt: skip


def training_figures(history: pd.DataFrame, frame_errors: pd.DataFrame) -> dict[str, Figure]:
    """Per target: the loss curves of its trained scorers (``<target>__loss``) and the per-frame
    errors of a few test clips of each sequence model (``<target>__<model>__frames``)."""
    figures = {}
    for target, own in history.groupby("target", sort=False):
        wide = own.pivot_table(index="epoch", columns="model", values=["train_loss", "val_loss"])
        wide.columns = [f"{model} {loss}" for loss, model in wide.columns]
        panels = [[c for c in wide.columns if c.startswith(f"{m} ")] for m in own["model"].unique()]
        figures[f"{target}__loss"] = history_figure(wide.reset_index(), metrics=panels,
                                                    title=f"Anomaly scorer losses, target {target}")  # fmt: skip
    for (target, model), own in frame_errors.groupby(["target", "model"], sort=False):
        figures[f"{target}__{model}__frames"] = frame_error_figure(
            own, title=f"Per-frame reconstruction error, target {target}, {model}")
    return figures


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
    scores: pd.DataFrame, history: pd.DataFrame, frame_errors: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], dict[str, Figure]]:
    """The report (target x model x comparison: ROC-AUC, average precision, TPR and FPR at the
    threshold), the classification report of each target against its competitive class (test
    split, at the threshold), the MLflow metrics ``anomaly.<target>.<model>.<measure>`` and per
    target and model the score distributions, ROC curves and competitive confusion matrix
    (``<target>__<model>__scores`` / ``__roc`` / ``__confusion``), plus ``training_figures``."""
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
    figures.update(training_figures(history, frame_errors))
    report = pd.concat(rows, ignore_index=True)
    report = report[["target", "model", *[c for c in report.columns if c not in ("target", "model")]]]
    logger.info("Anomaly report:\n%s", report.round(4).to_string(index=False))
    columns = ["target", "model", "competitive", "class", "precision", "recall", "f1-score", "support"]
    competitive = (pd.concat(competitive_rows, ignore_index=True)[columns] if competitive_rows
                   else pd.DataFrame(columns=columns))  # fmt: skip
    return report, competitive, metrics, figures
