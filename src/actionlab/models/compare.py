"""Train and compare classifiers on stored features or clips, on the saved split or by
leave-one-group-out (no kedro). ``compare_classifiers`` gives every test clip's probabilities per
model and fold, the training histories and costs, and the models to keep (with ``classifier_blob``).

Inputs per model: ``transformer`` / ``frame_avg`` the frame feature sequences, ``linear`` the clip
embeddings, ``cnn_lstm`` / ``cnn3d`` (``CLIP_MODELS``) windows of the stored clips
(``ClassificationData.clips``, a ``ClipDataset`` aligned with the other arrays)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from torch import nn

from actionlab.metrics.classification import group_folds
from actionlab.models.augment import ClipAugment
from actionlab.models.classifiers import (
    SEQUENCE_MODELS,
    build_sequence_model,
    linear_classifier,
    linear_from_state,
    linear_proba,
    linear_state,
    parameter_count,
)
from actionlab.models.clip_data import ClipDataset
from actionlab.models.clip_models import CLIP_MODELS, build_clip_model
from actionlab.models.clip_train import fit_clip_model
from actionlab.models.clip_train import predict_proba as predict_clips
from actionlab.models.train_classifier import (
    class_weights,
    holdout_split,
    predict_sequences,
    train_sequence_classifier,
)
from actionlab.runtime import resolve_device

logger = logging.getLogger(__name__)
CV_MODES = ("split", "group")
BLOB_FORMAT = 1
PROBA_PREFIX = "p_"  # prediction columns p_<class>
CLIP_WINDOW = ("frames_per_clip", "stride", "input_size", "views")  # a clip model's input, in its blob


class LazySequences:
    """Per-clip frame feature sequences, each read once on first use."""

    def __init__(self, keys: Sequence[str], read: Callable[[str], np.ndarray]) -> None:
        self._keys = list(keys)
        self._read = read
        self._cache: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, i: int) -> np.ndarray:
        if i not in self._cache:
            self._cache[i] = np.asarray(self._read(self._keys[i]), np.float32)
        return self._cache[i]

    def take(self, idx: Sequence[int]) -> list[np.ndarray]:
        return [self[int(i)] for i in idx]


@dataclass
class ClassificationData:
    """The labelled clips: ids, labels, splits, groups, clip embeddings, frame sequences and
    (for the clip models) the clips' windows, item ``i`` of each being clip ``i``."""

    video_ids: np.ndarray
    labels: np.ndarray
    splits: np.ndarray
    groups: np.ndarray
    embeddings: np.ndarray
    sequences: LazySequences | None
    clips: ClipDataset | None = None
    classes: list[str] = field(init=False)
    y: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.classes = sorted({str(v) for v in self.labels})
        index = {c: i for i, c in enumerate(self.classes)}
        self.y = np.array([index[str(v)] for v in self.labels], np.int64)


@dataclass
class Fitted:
    name: str
    model: nn.Module | Pipeline
    history: pd.DataFrame
    train_time_s: float


def fit_model(name: str, data: ClassificationData, train: np.ndarray, val: np.ndarray | None,
              params: dict[str, Any], *, desc: str) -> Fitted:  # fmt: skip
    """Fit one model on the clips ``train`` (early stopping on ``val``; a held-out share of
    ``train`` when ``val`` is empty or None)."""
    start = time.perf_counter()
    num_classes = len(data.classes)
    if name in SEQUENCE_MODELS:
        if data.sequences is None:
            raise ValueError(f"model {name!r} needs the frame feature sequences")
        t = params["train"]
        model = build_sequence_model(name, data.sequences[int(train[0])].shape[1], num_classes, dict(params[name]))
        val_data = None if val is None or len(val) == 0 else (data.sequences.take(val), data.y[val])
        model, history = train_sequence_classifier(
            model, (data.sequences.take(train), data.y[train]), val_data,
            epochs=t["epochs"], batch_size=t["batch_size"], lr=t["lr"], weight_decay=t["weight_decay"],
            patience=t["patience"], balance=t["balance"], val_share=params["val_share"],
            crop=params["augment"]["crop"], speed=params["augment"]["speed"], seed=params["seed"],
            device=params["device"], progress=params["progress"], desc=desc,
        )  # fmt: skip
    elif name in CLIP_MODELS:
        model, history = _fit_clips(name, data, train, val, params, desc=desc)
    elif name == "linear":
        balanced = params["train"]["balance"] and class_weights(data.y[train], num_classes) is not None
        model = linear_classifier(**linear_config(params, balanced))
        model.fit(data.embeddings[train], data.y[train])
        history = pd.DataFrame()
    else:
        raise ValueError(f"unknown model {name!r}")
    return Fitted(name, model, history, time.perf_counter() - start)


def clip_config(name: str, num_classes: int, params: dict[str, Any]) -> dict[str, Any]:
    """The keywords of ``build_clip_model(name, ...)`` from ``classification.<name>`` (the local
    weights are for the initial state only: a saved model's state replaces them)."""
    p = params[name]
    if name == "cnn_lstm":
        options = {"hidden_size": p["hidden"], "num_layers": p["layers"], "bidirectional": p["bidirectional"],
                   "pooling": p["pooling"], "dropout": p["dropout"], "input_mode": p["input_mode"]}  # fmt: skip
    else:
        options = {"arch": p["arch"], "dropout": p["dropout"], "input_mode": p["input_mode"]}
    return {"num_classes": num_classes, **options}


def clip_augment(params: dict[str, Any]) -> ClipAugment | None:
    """The training windows' augmentation from ``classification.clip_augment`` (None: off)."""
    a = params["clip_augment"]
    if not a["enabled"]:
        return None
    return ClipAugment.from_config(params["clip"]["input_size"], a)


def clip_windows(clip_index: pd.DataFrame, clips: Any, clip_keys: Sequence[str], classes: Sequence[str],
                 params: dict[str, Any]) -> ClipDataset:  # fmt: skip
    """Training windows (``classification.clip``, augmented as ``classification.clip_augment``
    says) of the stored clips ``clip_keys``, in that order, read from the ``clips`` store."""
    rows = clip_index.drop_duplicates("clip_key").set_index("clip_key")
    missing = [k for k in clip_keys if k not in rows.index]
    if missing:
        raise ValueError(
            f"{len(missing)} labelled clips (e.g. {missing[0]!r}) are not in the clip index: the features "
            "are from another preprocessing run. Run `kedro run --pipelines preprocessing,embedding` again."
        )
    c = params["clip"]
    return ClipDataset.from_index(
        rows.loc[list(clip_keys)].reset_index(), clips, classes,
        frames_per_clip=c["frames_per_clip"], stride=c["stride"], size=c["input_size"], train=True,
        views=c["views"], windows=c["windows"], augment=clip_augment(params), seed=params["seed"],
    )  # fmt: skip


def _fit_clips(name: str, data: ClassificationData, train: np.ndarray, val: np.ndarray | None,
               params: dict[str, Any], *, desc: str) -> tuple[nn.Module, pd.DataFrame]:  # fmt: skip
    """A clip model trained on the windows of the clips ``train``; without validation clips a
    stratified ``val_share`` of them is held out for early stopping (as for the sequence models)."""
    if data.clips is None:
        raise ValueError(f"model {name!r} needs the stored clips")
    if val is None or len(val) == 0:
        fit, held = holdout_split(data.y[train], params["val_share"], params["seed"])
        train, val = train[fit], train[held]
        logger.info("%s: no validation clips; %d of the %d training clips held out for early stopping",
                    desc, len(val), len(val) + len(train))  # fmt: skip
    config = clip_config(name, len(data.classes), params)
    options = {k: v for k, v in config.items() if k != "num_classes"}
    p = params[name]
    model = build_clip_model(name, config["num_classes"], **options, weights_path=p["weights_path"],
                             weights_param=f"classification.{name}.weights_path")  # fmt: skip
    model.config = config  # what classifier_blob saves
    c = params["clip"]
    model, history = fit_clip_model(
        model, data.clips.subset(train), data.clips.subset(val) if len(val) else None,
        epochs=c["epochs"], batch_size=c["batch_size"], lr=c["lr"], weight_decay=c["weight_decay"],
        patience=c["patience"], balance=params["train"]["balance"], seed=params["seed"],
        device=params["device"], num_workers=c["num_workers"], progress=params["progress"], desc=desc,
    )  # fmt: skip
    return model, history.drop(columns="seconds")


def linear_config(params: dict[str, Any], balanced: bool) -> dict[str, Any]:
    lin = params["linear"]
    return {"estimator": lin["estimator"], "C": lin["C"], "max_iter": lin["max_iter"],
            "balanced": balanced, "seed": params["seed"]}  # fmt: skip


def predict_proba(fitted: Fitted, data: ClassificationData, idx: np.ndarray, device: str = "cpu",
                  views: int = 1) -> np.ndarray:  # fmt: skip
    """Probabilities ``(len(idx), n classes)`` in ``data.classes`` order (clip models: the mean
    over ``views`` windows per clip)."""
    if isinstance(fitted.model, Pipeline):
        out = np.zeros((len(idx), len(data.classes)))
        out[:, fitted.model.classes_] = linear_proba(fitted.model, data.embeddings[idx])
        return out
    if fitted.name in CLIP_MODELS:
        assert data.clips is not None
        return predict_clips(fitted.model, data.clips.subset(idx), views, device=device)
    assert data.sequences is not None
    return predict_sequences(fitted.model, data.sequences.take(idx), device=resolve_device(device))


def _evaluate(fitted: Fitted, data: ClassificationData, test: np.ndarray, fold: str, *, device: str,
              views: int) -> tuple[pd.DataFrame, dict[str, Any]]:  # fmt: skip
    start = time.perf_counter()
    proba = predict_proba(fitted, data, test, device, views)
    seconds = time.perf_counter() - start
    rows = pd.DataFrame({
        "video_id": data.video_ids[test], "fold": fold, "model": fitted.name,
        "label": data.labels[test].astype(str), "predicted": np.asarray(data.classes, dtype=object)[proba.argmax(1)],
    })  # fmt: skip
    rows = pd.concat([rows, pd.DataFrame(proba, columns=[PROBA_PREFIX + c for c in data.classes])], axis=1)
    cost = {"model": fitted.name, "fold": fold, "train_time_s": fitted.train_time_s,
            "parameters": parameter_count(fitted.model), "inference_clips_per_s": len(test) / max(seconds, 1e-9)}  # fmt: skip
    return rows, cost


@dataclass
class Comparison:
    predictions: pd.DataFrame  # one row per test clip, model and fold
    histories: pd.DataFrame  # model, fold, epoch, train/val loss and accuracy
    costs: pd.DataFrame  # model, fold, train_time_s, parameters, inference_clips_per_s
    models: dict[str, Fitted]  # the models to keep, by name


def compare_classifiers(data: ClassificationData, models: Sequence[str], params: dict[str, Any]) -> Comparison:
    """Every model in ``models`` trained and tested as ``params['cv']`` says: ``split`` (train on
    train, stop early on val, test on test) or ``group`` (leave-one-group-out; then each model is
    fitted once more on every labelled clip: the one kept for inference)."""
    cv, device = params["cv"], params["device"]
    if cv not in CV_MODES:
        raise ValueError(f"classification.cv={cv!r}; expected one of {CV_MODES}")
    if cv == "split":
        train, val, test = (np.flatnonzero(data.splits == s) for s in ("train", "val", "test"))
        if len(train) == 0 or len(test) == 0:
            raise ValueError(
                f"classification.cv=split needs train and test clips; there are {len(train)} train and "
                f"{len(test)} test clips. Set classification.cv=group (leave-one-group-out) for small data."
            )
        folds = [("test", train, val, test)]
    else:
        folds = [(name, tr, None, te) for name, tr, te in group_folds(data.groups)]
        if len(folds) < 2:
            raise ValueError(
                "classification.cv=group needs at least 2 groups; all labelled clips are in one group. "
                "Set ingestion.group_column to a column that names, e.g., the person, or use classification.cv=split."
            )
    predictions, histories, costs, kept = [], [], [], {}
    for name in models:
        for fold, train, val, test in folds:
            fitted = fit_model(name, data, train, val, params, desc=f"{name} [{fold}]")
            rows, cost = _evaluate(fitted, data, test, fold, device=device, views=params["clip"]["views"])
            predictions.append(rows)
            costs.append(cost)
            histories.append(fitted.history.assign(model=name, fold=fold))
            if cv == "split":
                kept[name] = fitted
        if cv == "group":
            every = np.arange(len(data.y))
            final = fit_model(name, data, every, None, params, desc=f"{name} [all groups]")
            histories.append(final.history.assign(model=name, fold="all"))
            kept[name] = final
        logger.info("Classification: %s trained on %d fold(s)", name, len(folds))
    history = pd.concat(histories, ignore_index=True) if histories else pd.DataFrame()
    return Comparison(pd.concat(predictions, ignore_index=True), history, pd.DataFrame(costs), kept)


# ---------------------------------------------------------------------------------- saving


def classifier_blob(
    fitted: Fitted, classes: Sequence[str], lineage: dict[str, Any], params: dict[str, Any],
    clip_seconds: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """What inference needs, ``torch.load(weights_only=True)``-safe: the model's name and config,
    the class names, its state (tensors), what it reads (``input``: ``model_input``), the lineage
    of its inputs, for a clip model its windows (``clip``: ``CLIP_WINDOW`` settings) and, when
    given, the median length of its training clips in seconds (``clip_seconds``: the default
    timeline window)."""
    if isinstance(fitted.model, Pipeline):
        config = linear_config(params, fitted.model[-1].class_weight == "balanced")
        state = linear_state(fitted.model)
    else:
        config = dict(fitted.model.config)
        state = {k: v.detach().cpu().clone() for k, v in fitted.model.state_dict().items()}
    blob = {
        "format": BLOB_FORMAT, "model": fitted.name, "config": config, "classes": list(classes),
        "state_dict": state, "lineage": lineage, "input": model_input(fitted.name),
    }  # fmt: skip
    if fitted.name in CLIP_MODELS:  # the windows it was trained and tested on
        blob["clip"] = {k: params["clip"][k] for k in CLIP_WINDOW}
    if clip_seconds is not None:
        blob["clip_seconds"] = float(clip_seconds)
    return blob


def model_input(name: str) -> str:
    """What a model reads: ``embedding`` (linear), ``clips`` (clip models) or ``frame_features``."""
    return "embedding" if name == "linear" else "clips" if name in CLIP_MODELS else "frame_features"


def classifier_from_blob(blob: dict[str, Any]) -> nn.Module | Pipeline:
    """The model saved by ``classifier_blob`` (torch models in eval mode, on the CPU)."""
    if blob["model"] == "linear":
        return linear_from_state(blob["state_dict"], blob["config"])
    config = dict(blob["config"])
    if blob["model"] in CLIP_MODELS:
        model = build_clip_model(blob["model"], config.pop("num_classes"), **config)
        model.load_state_dict(blob["state_dict"])
        model.config = dict(blob["config"])
        return model.eval()
    model = build_sequence_model(blob["model"], config.pop("in_dim"), config.pop("num_classes"), config)
    model.load_state_dict(blob["state_dict"])
    return model.eval()


__all__ = [
    "CLIP_WINDOW", "CV_MODES", "PROBA_PREFIX", "ClassificationData", "Comparison", "LazySequences",
    "classifier_blob", "classifier_from_blob", "clip_windows", "compare_classifiers", "fit_model",
    "model_input", "predict_proba",
]  # fmt: skip


def stored_sequence(store: Any, key: str) -> np.ndarray:
    """The per-frame features ``(T, D)`` of one clip in the embedding stage's ``frame_features``
    store (a ``PartitionStore`` of ``.npz`` files)."""
    local = store.local_path(key)
    if local is not None:
        with np.load(local) as npz:
            return npz["frame_features"]
    with store.open(key) as handle, np.load(handle) as npz:
        return npz["frame_features"]
