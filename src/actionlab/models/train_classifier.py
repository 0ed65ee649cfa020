"""Training loop of the feature-sequence classifiers (no kedro).

AdamW, early stopping on validation loss with the best state kept, class-weighted
cross-entropy when the classes are imbalanced, random temporal crop and speed on training
sequences, seeded, on a chosen device, with a progress bar over epochs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight
from torch import nn
from tqdm.auto import tqdm

from actionlab.models.classifiers import pad_batch, resample_indices
from actionlab.models.early_stopping import EarlyStopping
from actionlab.runtime import resolve_device, seed_everything

logger = logging.getLogger(__name__)
HISTORY_COLUMNS = ["epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy"]


def augment_sequence(
    sequence: np.ndarray, rng: np.random.Generator, *, crop: Sequence[float], speed: Sequence[float], max_len: int
) -> np.ndarray:
    """A random temporal crop (a share in ``crop`` of the frames, at a random start), then a random
    speed (the crop resampled by a factor in ``speed``: > 1 plays faster, fewer frames)."""
    length = len(sequence)
    keep = max(1, int(round(length * rng.uniform(*crop))))
    start = int(rng.integers(0, length - keep + 1))
    window = sequence[start : start + keep]
    target = int(np.clip(round(keep / rng.uniform(*speed)), 1, max_len))
    return window[resample_indices(keep, target)]


def class_weights(y: np.ndarray, num_classes: int) -> np.ndarray | None:
    """Balanced class weights (scikit-learn) when the class counts differ, else None."""
    counts = np.bincount(y, minlength=num_classes)
    if len(set(counts[counts > 0].tolist())) <= 1:
        return None
    present = np.unique(y)
    weights = np.ones(num_classes)
    weights[present] = compute_class_weight("balanced", classes=present, y=y)
    return weights


def holdout_split(y: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices: a stratified ``share`` held out (not stratified when a class
    is too small for it); no validation when there are fewer than 4 clips."""
    idx = np.arange(len(y))
    if len(y) < 4 or share <= 0:
        return idx, idx[:0]
    try:
        return tuple(train_test_split(idx, test_size=share, stratify=y, random_state=seed))  # type: ignore[return-value]
    except ValueError:
        return tuple(train_test_split(idx, test_size=share, random_state=seed))  # type: ignore[return-value]


@torch.inference_mode()
def predict_sequences(
    model: nn.Module, sequences: Sequence[np.ndarray], *, batch_size: int = 64, device: str | torch.device = "cpu"
) -> np.ndarray:
    """Class probabilities ``(n, C)`` of each sequence (longer ones resampled to the model's
    ``max_len`` when it has one)."""
    model.eval()
    device = torch.device(device)
    max_len = int(getattr(model, "max_len", 0) or max(len(s) for s in sequences))
    out = []
    for i in range(0, len(sequences), batch_size):
        x, mask = pad_batch(sequences[i : i + batch_size], max_len)
        out.append(model(x.to(device), mask.to(device)).softmax(-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _evaluate(
    model: nn.Module, sequences: list[np.ndarray], y: np.ndarray, weight: Any, *, cfg: dict, device: torch.device
) -> tuple[float, float]:
    model.eval()
    losses, correct = [], 0
    with torch.inference_mode():
        for i in range(0, len(sequences), cfg["batch_size"]):
            x, mask = pad_batch(sequences[i : i + cfg["batch_size"]], cfg["max_len"])
            x, mask = x.to(device), mask.to(device)
            yb = torch.as_tensor(y[i : i + cfg["batch_size"]], device=device)
            losses.append(float(model.loss(x, mask, yb, weight)) * len(yb))
            correct += int((model(x, mask).argmax(1) == yb).sum())
    return sum(losses) / len(y), correct / len(y)


def train_sequence_classifier(
    model: nn.Module,
    train: tuple[Sequence[np.ndarray], np.ndarray],
    val: tuple[Sequence[np.ndarray], np.ndarray] | None = None,
    *,
    epochs: int = 60,
    batch_size: int = 16,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    patience: int = 10,
    balance: bool = True,
    val_share: float = 0.2,
    crop: Sequence[float] = (0.8, 1.0),
    speed: Sequence[float] = (0.8, 1.25),
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
    desc: str = "train",
) -> tuple[nn.Module, pd.DataFrame]:
    """Train ``model`` (a module with ``loss(x, mask, y, weight)`` and ``max_len`` or none) on
    ``train`` = (sequences ``(T_i, D)``, int labels) and keep the state with the lowest
    validation loss. Without ``val`` (or an empty one) a stratified ``val_share`` of ``train`` is
    held out for early stopping. The input standardisation is fitted on the training frames.
    Returns the model (best state, in eval mode, on ``device``) and its history per epoch."""
    generator = seed_everything(seed)
    rng = np.random.default_rng(seed)
    sequences, y = list(train[0]), np.asarray(train[1], np.int64)
    if val is None or len(val[1]) == 0:
        fit_idx, val_idx = holdout_split(y, val_share, seed)
        val = ([sequences[i] for i in val_idx], y[val_idx])
        sequences, y = [sequences[i] for i in fit_idx], y[fit_idx]
        logger.info(
            "%s: no validation clips; %d of the %d training clips held out for early stopping",
            desc, len(val_idx), len(val_idx) + len(fit_idx),
        )  # fmt: skip
    val_seqs, val_y = list(val[0]), np.asarray(val[1], np.int64)
    dev = resolve_device(device)
    max_len = int(getattr(model, "max_len", 0) or max(len(s) for s in [*sequences, *val_seqs]))
    cfg = {"batch_size": batch_size, "max_len": max_len}
    model.norm_in.fit(np.concatenate(sequences).astype(np.float64))
    model.to(dev)
    num_classes = int(model.config["num_classes"])
    weights = class_weights(y, num_classes) if balance else None
    weight = None if weights is None else torch.as_tensor(weights, dtype=torch.float32, device=dev)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    rows, stopper = [], EarlyStopping(model, patience, desc)
    bar = tqdm(range(1, epochs + 1), desc=desc, unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(y), generator=generator).numpy()
        total, correct = 0.0, 0
        for i in range(0, len(order), batch_size):
            pick = order[i : i + batch_size]
            augmented = [augment_sequence(sequences[j], rng, crop=crop, speed=speed, max_len=max_len) for j in pick]
            x, mask = pad_batch(augmented, max_len)
            x, mask, yb = x.to(dev), mask.to(dev), torch.as_tensor(y[pick], device=dev)
            loss = model.loss(x, mask, yb, weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(pick)
            with torch.no_grad():
                correct += int((model(x, mask).argmax(1) == yb).sum())
        row = {"epoch": epoch, "train_loss": total / len(y), "train_accuracy": correct / len(y),
               "val_loss": np.nan, "val_accuracy": np.nan}  # fmt: skip
        if len(val_y):
            row["val_loss"], row["val_accuracy"] = _evaluate(model, val_seqs, val_y, weight, cfg=cfg, device=dev)
        rows.append(row)
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", val=f"{row['val_loss']:.3f}")
        if stopper.step(epoch, row["val_loss"] if len(val_y) else row["train_loss"]):
            break
    bar.close()
    return stopper.restore().eval(), pd.DataFrame(rows, columns=HISTORY_COLUMNS)
