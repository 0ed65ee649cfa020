"""Action classifiers on stored features (no kedro).

- ``SequenceTransformer``: a small pre-norm Transformer encoder with a CLS token over per-frame
  features ``(B, T, D)``.
- ``FrameAverage``: a per-frame classifier; a clip's probabilities are the mean of its frames'.
- ``linear_classifier``: scikit-learn logistic regression or linear SVM on clip embeddings.

Both torch models standardise their input with training-set statistics kept as buffers, so a
saved state dict is all that inference needs besides the config.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from torch import nn

SEQUENCE_MODELS = ("transformer", "frame_avg")
EMBEDDING_MODELS = ("linear",)
MODELS = SEQUENCE_MODELS + EMBEDDING_MODELS
LINEAR_ESTIMATORS = ("logistic", "svm")


def resample_indices(length: int, target: int) -> np.ndarray:
    """``target`` frame indices spread evenly over ``length`` frames (repeats when upsampling)."""
    if length < 1 or target < 1:
        raise ValueError(f"expected positive lengths, got length={length}, target={target}")
    return np.round(np.linspace(0, length - 1, target)).astype(np.int64)


def fit_length(sequence: np.ndarray, max_len: int) -> np.ndarray:
    """A sequence longer than ``max_len`` resampled to ``max_len`` frames; a shorter one as it is."""
    return sequence[resample_indices(len(sequence), max_len)] if len(sequence) > max_len else sequence


def pad_batch(sequences: Sequence[np.ndarray], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences ``(T_i, D)`` -> a zero-padded batch ``(B, T, D)`` and its validity mask ``(B, T)``
    (True = a real frame); longer sequences are resampled to ``max_len`` first."""
    fitted = [fit_length(np.asarray(s, np.float32), max_len) for s in sequences]
    if any(len(s) == 0 for s in fitted):
        raise ValueError("a sequence has no frames")
    length = max(len(s) for s in fitted)
    batch = np.zeros((len(fitted), length, fitted[0].shape[1]), np.float32)
    mask = np.zeros((len(fitted), length), bool)
    for i, s in enumerate(fitted):
        batch[i, : len(s)] = s
        mask[i, : len(s)] = True
    return torch.from_numpy(batch), torch.from_numpy(mask)


class _Standardize(nn.Module):
    """``(x - mean) / std`` per feature with statistics set once from training frames."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, frames: np.ndarray) -> None:
        self.mean.copy_(torch.as_tensor(frames.mean(0), dtype=torch.float32))
        self.std.copy_(torch.as_tensor(frames.std(0), dtype=torch.float32).clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class SequenceTransformer(nn.Module):
    """Per-frame features ``(B, T, D)`` -> class logits ``(B, C)``.

    Linear projection to ``d_model``, a learnable CLS token, learnable position embeddings for
    ``max_len`` frames (a longer input is resampled to ``max_len``; padded frames are masked out
    with ``mask``), pre-norm encoder layers, LayerNorm and a linear head on the CLS token.
    """

    def __init__(
        self, in_dim: int, num_classes: int, *, d_model: int = 128, layers: int = 2,
        heads: int = 4, dropout: float = 0.1, max_len: int = 32,
    ) -> None:  # fmt: skip
        super().__init__()
        self.config = {
            "in_dim": in_dim, "num_classes": num_classes, "d_model": d_model, "layers": layers,
            "heads": heads, "dropout": dropout, "max_len": max_len,
        }  # fmt: skip
        self.max_len = max_len
        self.norm_in = _Standardize(in_dim)
        self.proj = nn.Linear(in_dim, d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        self.pos = nn.Parameter(torch.zeros(1, max_len + 1, d_model))
        nn.init.trunc_normal_(self.cls, std=0.02)
        nn.init.trunc_normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, dim_feedforward=2 * d_model, dropout=dropout, batch_first=True,
            norm_first=True, activation="gelu",
        )  # fmt: skip
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        if x.shape[1] > self.max_len:  # resample every sequence (its valid part) to max_len
            x, mask = _resample_batch(x, mask, self.max_len)
        tokens = self.proj(self.norm_in(x))
        cls = self.cls.expand(x.shape[0], -1, -1)  # not len(x): keeps the batch dynamic in ONNX export
        tokens = torch.cat([cls, tokens], 1) + self.pos[:, : tokens.shape[1] + 1]
        valid = torch.cat([torch.ones_like(mask[:, :1]), mask], 1)
        out = self.encoder(tokens, src_key_padding_mask=~valid)
        return self.head(self.norm(out[:, 0]))

    def loss(self, x: torch.Tensor, mask: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
        return nn.functional.cross_entropy(self(x, mask), y, weight=weight)


def _resample_batch(x: torch.Tensor, mask: torch.Tensor, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = mask.sum(1).clamp_min(1).tolist()
    rows, masks = [], []
    for i, length in enumerate(lengths):
        n = int(length)
        idx = torch.as_tensor(resample_indices(n, min(n, max_len)), device=x.device)
        row = x.new_zeros(max_len, x.shape[2])
        row[: len(idx)] = x[i, idx]
        valid = torch.zeros(max_len, dtype=torch.bool, device=x.device)
        valid[: len(idx)] = True
        rows.append(row)
        masks.append(valid)
    return torch.stack(rows), torch.stack(masks)


class FrameAverage(nn.Module):
    """A per-frame MLP classifier; ``forward`` gives clip log-probabilities: the log of the mean
    of the valid frames' probabilities. Trained with the clip's label on every frame."""

    def __init__(self, in_dim: int, num_classes: int, *, hidden: int = 128, dropout: float = 0.1) -> None:
        super().__init__()
        self.config = {"in_dim": in_dim, "num_classes": num_classes, "hidden": hidden, "dropout": dropout}
        self.norm_in = _Standardize(in_dim)
        layers: list[nn.Module] = (
            [nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes)]
            if hidden else [nn.Linear(in_dim, num_classes)]
        )  # fmt: skip
        self.mlp = nn.Sequential(*layers)

    def frame_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.norm_in(x))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        probs = self.frame_logits(x).softmax(-1)
        if mask is None:
            return probs.mean(1).clamp_min(1e-12).log()
        weights = mask.unsqueeze(-1).to(probs.dtype)
        mean = (probs * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        return mean.clamp_min(1e-12).log()

    def loss(self, x: torch.Tensor, mask: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
        logits = self.frame_logits(x)[mask]  # (valid frames, C)
        targets = y.unsqueeze(1).expand(mask.shape)[mask]
        return nn.functional.cross_entropy(logits, targets, weight=weight)


def build_sequence_model(name: str, in_dim: int, num_classes: int, config: dict[str, Any]) -> nn.Module:
    """``transformer`` or ``frame_avg`` with its config (the parameters of its group)."""
    if name == "transformer":
        return SequenceTransformer(in_dim, num_classes, **config)
    if name == "frame_avg":
        return FrameAverage(in_dim, num_classes, **config)
    raise ValueError(f"unknown sequence model {name!r}; expected one of {SEQUENCE_MODELS}")


def parameter_count(model: nn.Module | Pipeline) -> int:
    """Trainable numbers of a torch model or of a fitted linear pipeline (weights and biases)."""
    if isinstance(model, nn.Module):
        return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
    head = model[-1]
    return int(head.coef_.size + np.size(head.intercept_))


# ------------------------------------------------------------------------------------ linear


def linear_classifier(
    estimator: str = "logistic", *, C: float = 1.0, max_iter: int = 2000, balanced: bool = False, seed: int = 0
) -> Pipeline:
    """StandardScaler + LogisticRegression (``logistic``) or LinearSVC (``svm``)."""
    weight = "balanced" if balanced else None
    if estimator == "logistic":
        head: Any = LogisticRegression(C=C, max_iter=max_iter, class_weight=weight, random_state=seed)
    elif estimator == "svm":
        head = LinearSVC(C=C, max_iter=max_iter, class_weight=weight, random_state=seed)
    else:
        raise ValueError(f"unknown linear estimator {estimator!r}; expected one of {LINEAR_ESTIMATORS}")
    return Pipeline([("scale", StandardScaler()), ("clf", head)])


def linear_proba(model: Pipeline, X: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, C)`` in ``model.classes_`` order: ``predict_proba`` for logistic
    regression, a softmax of the decision values for the SVM (scores, not calibrated)."""
    if hasattr(model[-1], "predict_proba"):
        return model.predict_proba(X)
    scores = model.decision_function(X)
    if scores.ndim == 1:  # binary: one margin for the second class
        scores = np.stack([-scores, scores], 1) / 2
    scores = scores - scores.max(1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(1, keepdims=True)


def linear_state(model: Pipeline) -> dict[str, torch.Tensor]:
    """The fitted numbers of a linear pipeline as tensors (``torch.load(weights_only=True)``-safe)."""
    scale, head = model[0], model[-1]
    return {
        "scale_mean": torch.as_tensor(scale.mean_), "scale_scale": torch.as_tensor(scale.scale_),
        "coef": torch.as_tensor(head.coef_), "intercept": torch.as_tensor(np.atleast_1d(head.intercept_)),
        "classes": torch.as_tensor(model.classes_),
    }  # fmt: skip


def linear_from_state(state: dict[str, torch.Tensor], config: dict[str, Any]) -> Pipeline:
    """A fitted linear pipeline rebuilt from ``linear_state`` and its config."""
    model = linear_classifier(**config)
    scale, head = model[0], model[-1]
    scale.mean_ = state["scale_mean"].numpy()
    scale.scale_ = state["scale_scale"].numpy()
    scale.var_ = scale.scale_**2
    scale.n_features_in_ = len(scale.mean_)
    head.coef_ = state["coef"].numpy()
    head.intercept_ = state["intercept"].numpy()
    head.classes_ = state["classes"].numpy()
    head.n_features_in_ = head.coef_.shape[1]
    if isinstance(head, LogisticRegression):
        head.n_iter_ = np.array([0])
    return model
