"""One-class scorers: fitted on the normal (target, correct) clips only, they give every clip a
score where higher means more anomalous (no kedro).

One interface for all of them (``Scorer``): ``fit(train, val=None)``, ``score(items)``,
``state()`` (tensors) and ``config``; ``build_scorer(name, config, ...)`` makes one from its name
(``SCORERS``), ``scorer_blob`` / ``scorer_from_blob`` save and restore a fitted one as a
``torch.load(weights_only=True)``-safe dict (no pickle).

- ``autoencoder``: reconstruction error of an MLP autoencoder on the clip embedding.
- ``sequence_autoencoder``: reconstruction error of a GRU autoencoder on the per-frame features;
  ``frame_scores`` gives the error of every frame (where the clip deviates).
- ``knn``: mean distance to the ``k`` nearest training clips.
- ``mahalanobis``: squared Mahalanobis distance to the training clips' mean under a
  Ledoit-Wolf shrunk covariance.
- ``isolation_forest``: minus scikit-learn's ``IsolationForest.score_samples``.
- ``ocsvm``: minus scikit-learn's ``OneClassSVM.score_samples`` (RBF kernel).

The classical scorers standardise the embeddings with the training clips' statistics first;
``scale_floor`` (config, default 0) keeps a nearly constant dimension from dominating: each
dimension's scale is ``sqrt(std**2 + (scale_floor * median std)**2)`` (a histogram cell that is
almost always empty in training would otherwise turn a small vote into a huge z-score).
Saving: k-NN, IsolationForest and the one-class SVM keep the standardised training clips and are
refitted from them on loading (deterministic for a given scikit-learn version, which the blob
records; refitting takes milliseconds to seconds on clip-level data); the Mahalanobis scorer keeps
its location and precision matrix; the autoencoders their state dict.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import sklearn
import torch
from sklearn.covariance import LedoitWolf
from sklearn.ensemble import IsolationForest
from sklearn.model_selection import KFold
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

from actionlab.models.autoencoder import (
    HISTORY_COLUMNS,
    SequenceAutoencoder,
    autoencoder_scores,
    build_autoencoder,
    sequence_frame_errors,
    train_autoencoder,
)
from actionlab.runtime import resolve_device, seed_everything

logger = logging.getLogger(__name__)
BLOB_FORMAT = 1
EMBEDDING = "embedding"  # what a scorer reads: the clip embeddings ...
FRAME_FEATURES = "frame_features"  # ... or the per-frame feature sequences


class Scorer:
    """Base of every scorer: ``name``, ``input`` (``embedding`` or ``frame_features``),
    ``config`` (its settings), ``seed`` and, after ``fit``, a ``history`` (empty when it does not
    train by epochs)."""

    name: ClassVar[str]
    input: ClassVar[str] = EMBEDDING

    def __init__(self, config: Mapping[str, Any] | None = None, *, seed: int = 0) -> None:
        self.config = dict(config or {})
        self.seed = int(seed)
        self.history = pd.DataFrame(columns=HISTORY_COLUMNS)

    def fit(self, train: Any, val: Any = None) -> Scorer:
        """Fit on the normal clips ``train`` (``val``: normal validation clips, used by the
        scorers that train by epochs)."""
        raise NotImplementedError

    def score(self, items: Any) -> np.ndarray:
        """Anomaly score per clip ``(n,)``: higher = more anomalous."""
        raise NotImplementedError

    def state(self) -> dict[str, torch.Tensor]:
        """The fitted numbers, as tensors."""
        raise NotImplementedError

    def load_state(self, state: Mapping[str, torch.Tensor]) -> Scorer:
        """Restore a fitted scorer from ``state()``."""
        raise NotImplementedError


# ------------------------------------------------------------------------------------ classical


class _Standardized(Scorer):
    """A scikit-learn scorer on embeddings standardised with the training clips' statistics."""

    def __init__(self, config: Mapping[str, Any] | None = None, *, seed: int = 0) -> None:
        super().__init__(config, seed=seed)
        self.scaler = StandardScaler()

    def _transform(self, items: Any) -> np.ndarray:
        return self.scaler.transform(np.asarray(items, np.float64))

    def fit(self, train: Any, val: Any = None) -> Scorer:
        x = np.asarray(train, np.float64)
        if len(x) < 2:
            raise ValueError(f"{self.name}: {len(x)} training clip(s); needs at least 2")
        self.scaler.fit(x)
        floor = float(self.config.get("scale_floor", 0.0)) * float(np.median(np.sqrt(self.scaler.var_)))
        if floor > 0:
            scale = np.sqrt(self.scaler.var_ + floor**2)
            self.scaler.scale_ = np.where(scale > 0, scale, 1.0)
        self._fit(self.scaler.transform(x))
        return self

    def score(self, items: Any) -> np.ndarray:
        return np.asarray(self._score(self._transform(items)), np.float64)

    def state(self) -> dict[str, torch.Tensor]:
        return {"scale_mean": torch.as_tensor(self.scaler.mean_),
                "scale_scale": torch.as_tensor(self.scaler.scale_), **self._state()}  # fmt: skip

    def load_state(self, state: Mapping[str, torch.Tensor]) -> Scorer:
        self.scaler.mean_ = state["scale_mean"].numpy()
        self.scaler.scale_ = state["scale_scale"].numpy()
        self.scaler.var_ = self.scaler.scale_**2
        self.scaler.n_features_in_ = len(self.scaler.mean_)
        self._load(state)
        return self

    def _fit(self, z: np.ndarray) -> None:
        raise NotImplementedError

    def _score(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _state(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _load(self, state: Mapping[str, torch.Tensor]) -> None:
        raise NotImplementedError


class _Refitted(_Standardized):
    """Kept as its standardised training clips and refitted from them on loading."""

    def _fit(self, z: np.ndarray) -> None:
        self.train_ = z
        self.model_ = self._estimator(len(z)).fit(z)

    def _state(self) -> dict[str, torch.Tensor]:
        return {"train": torch.as_tensor(self.train_)}

    def _load(self, state: Mapping[str, torch.Tensor]) -> None:
        self._fit(state["train"].numpy())

    def _estimator(self, n: int) -> Any:
        raise NotImplementedError


class KNNScorer(_Refitted):
    """Mean Euclidean distance to the ``k`` nearest training clips (``k`` at most the number of
    training clips)."""

    name = "knn"

    def _estimator(self, n: int) -> NearestNeighbors:
        return NearestNeighbors(n_neighbors=min(int(self.config.get("k", 5)), n))

    def _score(self, z: np.ndarray) -> np.ndarray:
        distances, _ = self.model_.kneighbors(z)
        return distances.mean(1)


class IsolationForestScorer(_Refitted):
    """Minus ``IsolationForest.score_samples`` (in (0, 1]: about 0.5 and below for normal clips)."""

    name = "isolation_forest"

    def _estimator(self, n: int) -> IsolationForest:
        return IsolationForest(n_estimators=int(self.config.get("n_estimators", 200)), random_state=self.seed)

    def _score(self, z: np.ndarray) -> np.ndarray:
        return -self.model_.score_samples(z)


class OneClassSVMScorer(_Refitted):
    """Minus ``OneClassSVM.score_samples`` (RBF kernel; ``nu``, ``gamma`` from the config)."""

    name = "ocsvm"

    def _estimator(self, n: int) -> OneClassSVM:
        return OneClassSVM(kernel="rbf", nu=float(self.config.get("nu", 0.1)),
                           gamma=self.config.get("gamma", "scale"))  # fmt: skip

    def _score(self, z: np.ndarray) -> np.ndarray:
        return -self.model_.score_samples(z)


class MahalanobisScorer(_Standardized):
    """Squared Mahalanobis distance under scikit-learn's Ledoit-Wolf shrunk covariance."""

    name = "mahalanobis"

    def _fit(self, z: np.ndarray) -> None:
        self.model_ = LedoitWolf().fit(z)

    def _score(self, z: np.ndarray) -> np.ndarray:
        return self.model_.mahalanobis(z)

    def _state(self) -> dict[str, torch.Tensor]:
        m = self.model_
        return {"location": torch.as_tensor(m.location_), "covariance": torch.as_tensor(m.covariance_),
                "precision": torch.as_tensor(m.precision_), "shrinkage": torch.as_tensor(m.shrinkage_)}  # fmt: skip

    def _load(self, state: Mapping[str, torch.Tensor]) -> None:
        m = LedoitWolf()
        m.location_ = state["location"].numpy()
        m.covariance_ = state["covariance"].numpy()
        m.precision_ = state["precision"].numpy()
        m.shrinkage_ = float(state["shrinkage"])
        m.n_features_in_ = len(m.location_)
        self.model_ = m


# ---------------------------------------------------------------------------------- autoencoders

TRAIN_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "patience", "val_share")


class AutoencoderScorer(Scorer):
    """Reconstruction error of an ``EmbeddingAutoencoder`` (``autoencoder``); ``config`` holds the
    model's settings, ``train`` the training loop's (``TRAIN_KEYS``)."""

    name = "autoencoder"

    def __init__(
        self, config: Mapping[str, Any] | None = None, *, seed: int = 0, train: Mapping[str, Any] | None = None,
        device: str = "auto", progress: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(config, seed=seed)
        self.train = {k: v for k, v in dict(train or {}).items() if k in TRAIN_KEYS}
        self.device = device
        self.progress = progress
        self.model: Any = None

    def _in_dim(self, items: Any) -> int:
        return int(np.asarray(items).shape[1])

    def fit(self, train: Any, val: Any = None) -> Scorer:
        seed_everything(self.seed)  # the initial weights too
        self.model = build_autoencoder(self.name, self._in_dim(train), self.config)
        items = list(np.asarray(train, np.float32)) if self.input == EMBEDDING else list(train)
        val_items = None if val is None else (list(np.asarray(val, np.float32)) if self.input == EMBEDDING else list(val))
        self.model, self.history = train_autoencoder(
            self.model, items, val_items, seed=self.seed, device=self.device, progress=self.progress,
            desc=self.name, **self.train,
        )  # fmt: skip
        return self

    def score(self, items: Any) -> np.ndarray:
        seq = list(np.asarray(items, np.float32)) if self.input == EMBEDDING else list(items)
        return autoencoder_scores(self.model, seq, device=resolve_device(self.device))

    def state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}

    def load_state(self, state: Mapping[str, torch.Tensor]) -> Scorer:
        in_dim = int(state["norm_in.mean"].shape[0])
        self.model = build_autoencoder(self.name, in_dim, self.config)
        self.model.load_state_dict(dict(state))
        self.model.eval()
        return self


class SequenceAutoencoderScorer(AutoencoderScorer):
    """Reconstruction error of a ``SequenceAutoencoder`` on per-frame feature sequences ``(T, D)``;
    ``frame_scores`` gives each frame's error."""

    name = "sequence_autoencoder"
    input = FRAME_FEATURES

    def _in_dim(self, items: Any) -> int:
        return int(np.asarray(items[0]).shape[1])

    def frame_scores(self, sequences: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The reconstruction error of every frame of each sequence (where a clip deviates)."""
        assert isinstance(self.model, SequenceAutoencoder)
        return sequence_frame_errors(self.model, list(sequences), device=resolve_device(self.device))


# ------------------------------------------------------------------------------------ registry

SCORERS: dict[str, type[Scorer]] = {
    cls.name: cls
    for cls in (AutoencoderScorer, SequenceAutoencoderScorer, KNNScorer, MahalanobisScorer,
                IsolationForestScorer, OneClassSVMScorer)  # fmt: skip
}
TRAINED = ("autoencoder", "sequence_autoencoder")  # the scorers that train by epochs


def build_scorer(
    name: str, config: Mapping[str, Any] | None = None, *, seed: int = 0, train: Mapping[str, Any] | None = None,
    device: str = "auto", progress: bool = False,
) -> Scorer:  # fmt: skip
    """An unfitted scorer by name (``SCORERS``); ``train``, ``device`` and ``progress`` are for
    the autoencoders only."""
    if name not in SCORERS:
        raise ValueError(f"unknown anomaly scorer {name!r}; expected one of {tuple(SCORERS)}")
    cls = SCORERS[name]
    if issubclass(cls, AutoencoderScorer):
        return cls(config, seed=seed, train=train, device=device, progress=progress)
    return cls(config, seed=seed)


def scorer_blob(scorer: Scorer, **extra: Any) -> dict[str, Any]:
    """A fitted scorer as a ``torch.load(weights_only=True)``-safe dict: its name, input, config,
    seed, state (tensors) and the scikit-learn version; ``extra`` entries (e.g. the threshold, the
    target, lineage) are added as they are."""
    blob = {
        "format": BLOB_FORMAT, "scorer": scorer.name, "input": scorer.input, "config": dict(scorer.config),
        "seed": scorer.seed, "state": scorer.state(), "sklearn_version": sklearn.__version__,
    }  # fmt: skip
    if isinstance(scorer, AutoencoderScorer):
        blob["train"] = dict(scorer.train)
    return {**blob, **extra}


def scorer_from_blob(blob: Mapping[str, Any], *, device: str = "cpu") -> Scorer:
    """The scorer saved by ``scorer_blob`` (autoencoders scoring on ``device``)."""
    if blob.get("format") != BLOB_FORMAT:
        raise ValueError(f"anomaly scorer blob format {blob.get('format')!r}; expected {BLOB_FORMAT}")
    name = blob["scorer"]
    if name not in TRAINED and name != "mahalanobis" and blob.get("sklearn_version") != sklearn.__version__:
        logger.warning("%s was saved with scikit-learn %s and is refitted with %s: scores may differ slightly",
                       name, blob.get("sklearn_version"), sklearn.__version__)  # fmt: skip
    scorer = build_scorer(name, blob["config"], seed=int(blob["seed"]), train=blob.get("train"), device=device)
    return scorer.load_state(blob["state"])


def out_of_fold_scores(make: Callable[[], Scorer], train: Any, *, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Each training item's score from a scorer (``make()``) fitted without it: ``folds``-fold
    (at most one fold per item) with shuffled folds. A threshold for a target without validation
    clips comes from these, not from the in-sample scores of a scorer that saw the clips."""
    n = len(train)
    if n < 3:
        raise ValueError(f"out-of-fold scores need at least 3 training clips, got {n}")
    take = (lambda idx: train[idx]) if isinstance(train, np.ndarray) else (lambda idx: [train[i] for i in idx])
    out = np.empty(n, np.float64)
    for fit_rows, held_out in KFold(min(folds, n), shuffle=True, random_state=seed).split(np.arange(n)):
        out[held_out] = make().fit(take(fit_rows)).score(take(held_out))
    return out
