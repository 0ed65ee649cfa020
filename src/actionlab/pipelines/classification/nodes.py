"""Classification nodes: train the classifiers on stored features or clips, then compare them."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from actionlab.engine import PartitionStore
from actionlab.inference.pyfunc import register_best
from actionlab.lineage import with_lineage
from actionlab.manifest.build import median_clip_seconds
from actionlab.metrics.classification import comparison_metrics, comparison_table, per_class_report
from actionlab.models.classifiers import SEQUENCE_MODELS
from actionlab.models.clip_models import CLIP_MODELS
from actionlab.models.compare import (
    PROBA_PREFIX,
    ClassificationData,
    LazySequences,
    classifier_blob,
    clip_windows,
    compare_classifiers,
    model_input,
    stored_sequence,
)
from actionlab.plots.classification import confusion_matrix_figure
from actionlab.plots.common import new_figure
from actionlab.plots.training import history_figure

logger = logging.getLogger(__name__)
CURVES = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")


def _labelled(clip_embeddings: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    labels = clip_embeddings["label"].astype("string").str.strip().fillna("")
    table = clip_embeddings[labels != ""].reset_index(drop=True)
    if dropped := len(clip_embeddings) - len(table):
        logger.warning("Classification: %d of %d clips have no label and are left out", dropped, len(clip_embeddings))
    classes = table["label"].astype(str).unique()
    if len(classes) < 2:
        raise ValueError(
            f"classification needs labelled clips of at least 2 classes; found {len(classes)} "
            f"({', '.join(map(str, classes)) or 'no labels'}) in {len(table)} of {len(clip_embeddings)} clips. "
            "Use an ingestion source with labels (ingestion.source=folder, labels_csv, kinetics_csv or "
            "cluster_labels), or leave classification out of the run (--pipelines ...)."
        )
    if params["cv"] == "group" and table["group"].astype("string").fillna("").eq("").any():
        raise ValueError(
            "classification.cv=group needs a group for every labelled clip; some have none. Set "
            "ingestion.group_column to the column that names the group (e.g. person), or use classification.cv=split."
        )
    return table


def _clip_seconds(clip_index: pd.DataFrame, keys: pd.Series) -> float | None:
    """Median source length in seconds of the clips the models learn from (an annotated range,
    else the whole video): the default window of an inference timeline."""
    return median_clip_seconds(clip_index.drop_duplicates("clip_key").set_index("clip_key").reindex(keys))


def train_classifiers(
    clip_embeddings: pd.DataFrame, frame_features: PartitionStore, clip_index: pd.DataFrame,
    clips: PartitionStore, params: dict[str, Any],
) -> tuple[dict[str, dict[str, Any]], pd.DataFrame, pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Train every model in ``classification.models`` as ``classification.cv`` says (the clip
    models on windows of the stored ``clips``, the others on the stored features); returns the
    kept models (06_models, one file each), every test clip's prediction per model and fold
    (07_model_output), the training histories and the costs (08_reporting)."""
    table = _labelled(clip_embeddings, params)
    models = list(dict.fromkeys(params["models"]))
    needs_sequences = any(m in SEQUENCE_MODELS for m in models)
    data = ClassificationData(
        video_ids=table["video_id"].astype(str).to_numpy(), labels=table["label"].astype(str).to_numpy(),
        splits=table["split"].astype(str).to_numpy(), groups=table["group"].astype(str).to_numpy(),
        embeddings=np.stack(table["embedding"].to_numpy()).astype(np.float64),
        sequences=LazySequences(table["feature_key"], partial(stored_sequence, frame_features)) if needs_sequences else None,
    )  # fmt: skip
    if any(m in CLIP_MODELS for m in models):  # windows of the stored clips, in the table's order
        data.clips = clip_windows(clip_index, clips, table["clip_key"].astype(str).tolist(), data.classes, params)
    logger.info(
        "Classification (%s cv): %d clips, %d classes, models %s", params["cv"], len(table),
        len(data.classes), ", ".join(models),
    )  # fmt: skip
    result = compare_classifiers(data, models, params)
    # a model's lineage is its input's: the clip models read the clips, not the features
    lineage = {
        source: with_lineage(pd.DataFrame(), upstream, params={"classification": params}).attrs["lineage"]
        for source, upstream in (("clips", clip_index), ("features", clip_embeddings))
    }  # fmt: skip
    source = {name: "clips" if model_input(name) == "clips" else "features" for name in result.models}
    seconds = _clip_seconds(clip_index, table["clip_key"].astype(str))
    blobs = {
        name: classifier_blob(f, data.classes, lineage[source[name]], params, clip_seconds=seconds)
        for name, f in result.models.items()
    }  # fmt: skip
    predictions = with_lineage(result.predictions, clip_embeddings, params={"classification": params})
    return blobs, predictions, result.histories, result.costs


def _classes(predictions: pd.DataFrame) -> list[str]:
    return [c.removeprefix(PROBA_PREFIX) for c in predictions.columns if c.startswith(PROBA_PREFIX)]


def _kept_history(history: pd.DataFrame) -> pd.DataFrame:
    """The histories of the kept fits: the one fold of split cv, the ``all`` fit of group cv."""
    if history.empty:
        return history
    kept = history[history["fold"] == "all"]
    return kept if not kept.empty else history


def _history_plot(history: pd.DataFrame) -> Figure:
    if history.empty:
        fig = new_figure(5, 1.2)
        fig.text(0.5, 0.5, "no training curves: only linear models were trained", ha="center", va="center")
        return fig
    wide = history.pivot_table(index="epoch", columns="model", values=list(CURVES))
    wide.columns = [f"{model} {curve}" for curve, model in wide.columns]
    wide = wide.reset_index()
    models = list(dict.fromkeys(history["model"]))
    panels = [[f"{m} {c}" for m in models for c in pair if f"{m} {c}" in wide] for pair in (CURVES[:2], CURVES[2:])]
    return history_figure(wide, metrics=panels, title="Classifier training (the kept fits)")


def evaluate_classifiers(
    predictions: pd.DataFrame, history: pd.DataFrame, costs: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], dict[str, Figure], Figure]:
    """The comparison table (models x scores and costs), the per-class report of each model, the
    MLflow metrics ``classification.<model>.<measure>`` (with the kept fits' curves per epoch), a
    confusion matrix per model (pooled over folds) and the training curves."""
    classes = _classes(predictions)
    table = comparison_table(predictions, costs, classes, prefix=PROBA_PREFIX)
    logger.info("Classification comparison:\n%s", table.round(4).to_string(index=False))
    reports, figures = [], {}
    for model, own in predictions.groupby("model", sort=False):
        reports.append(per_class_report(own["label"], own["predicted"], classes).assign(model=model))
        folds = own["fold"].nunique()
        figures[str(model)] = confusion_matrix_figure(
            own["label"], own["predicted"], classes,
            title=f"{model}" + (f" (pooled over {folds} held-out groups)" if folds > 1 else " (test split)"),
        )  # fmt: skip
    report = pd.concat(reports, ignore_index=True)
    report = report[["model", *[c for c in report.columns if c != "model"]]]
    metrics: dict[str, Any] = {k: [{"value": v, "step": 0}] for k, v in comparison_metrics(table).items()}
    kept = _kept_history(history)
    for model, own in (kept.groupby("model", sort=False) if not kept.empty else []):
        for curve in CURVES:
            points = own[["epoch", curve]].dropna()
            if len(points):
                metrics[f"{model}.{curve}"] = [{"value": float(v), "step": int(e)} for e, v in points.to_numpy()]
    return table, report, metrics, figures, _history_plot(kept)


def register_best_classifier(comparison: pd.DataFrame, classifiers: dict[str, Any], name: str) -> None:
    """Register the run's best classifier (highest accuracy; logged as an MLflow model when
    ``classifiers`` was saved) in the MLflow model registry as ``name``."""
    del classifiers  # an input only so that this runs after the models are logged
    version = register_best(comparison, name)
    if version is None:
        logger.warning("Classification: no MLflow run or logged model; nothing registered as %r", name)
    else:
        logger.info("Classification: registered the best model as %s version %s", name, version.version)
