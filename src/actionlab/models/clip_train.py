"""Training and multi-view prediction of the clip classifiers (no kedro).

``fit_clip_model`` trains any module that maps a batch ``(inputs, labels)`` of a
``ClipDataset`` to logits: AdamW, class-weighted cross-entropy when the training classes are
imbalanced (``train_classifier.class_weights``, the rule every classifier shares), early stopping
on the validation loss with the best weights restored, seeded, on the device from a parameter,
one progress bar per epoch and a per-epoch history.
``predict_proba`` averages the softmax probabilities of several temporal windows per clip.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from actionlab.models.clip_data import ClipDataset
from actionlab.models.early_stopping import EarlyStopping
from actionlab.models.train_classifier import class_weights
from actionlab.runtime import resolve_device, seed_everything

logger = logging.getLogger(__name__)

HISTORY_COLUMNS = [
    "epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy", "seconds",
]  # fmt: skip


def _loader(data: ClipDataset, batch_size: int, *, shuffle: bool, workers: int, seed: int,
            pin: bool) -> DataLoader:  # fmt: skip
    return DataLoader(
        data,
        batch_size=int(batch_size),
        shuffle=shuffle,
        num_workers=int(workers),
        pin_memory=pin,
        generator=torch.Generator().manual_seed(int(seed)),
    )


def _evaluate(
    model: nn.Module, loader: DataLoader, criterion: nn.Module, dev: torch.device
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader``."""
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for batch, targets in loader:
            inputs, labels = batch.to(dev), targets.to(dev)
            logits = model(inputs)
            total += float(criterion(logits, labels)) * len(labels)
            correct += int((logits.argmax(1) == labels).sum())
            count += len(labels)
    return total / max(count, 1), correct / max(count, 1)


def fit_clip_model(
    model: nn.Module,
    train: ClipDataset,
    val: ClipDataset | None = None,
    *,
    epochs: int = 10,
    batch_size: int = 8,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    patience: int = 3,
    balance: bool = True,
    seed: int = 0,
    device: str = "auto",
    num_workers: int = 0,
    progress: bool = True,
    desc: str = "train",
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[nn.Module, pd.DataFrame]:
    """Train ``model`` on ``train``; return it (best weights, eval mode, on ``device``) and
    its history.

    Early stopping: after ``patience`` epochs without a lower validation loss (``val``, one view
    per clip: the middle window) training stops and the weights of the best epoch are restored;
    without ``val`` the training loss is monitored instead (hold clips out with
    ``ClipDataset.subset`` to have a validation set). ``balance``: class-weighted loss when the
    training classes are imbalanced (``class_weights``). The history has one row per epoch:
    ``HISTORY_COLUMNS`` (``val_*`` NaN without ``val``), ``seconds`` the epoch's wall time.
    """
    if len(train) == 0:
        raise ValueError("fit_clip_model: the training set has no clip.")
    dev = resolve_device(device)
    seed_everything(seed)
    num_classes = len(train.classes) or int(train.labels.max()) + 1
    weights = class_weights(train.labels, num_classes) if balance else None
    weight = None if weights is None else torch.as_tensor(weights, dtype=torch.float32, device=dev)
    criterion = nn.CrossEntropyLoss(weight=weight)
    model = model.to(dev)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=float(lr), weight_decay=float(weight_decay)
    )
    pin = dev.type == "cuda"
    train_loader = _loader(train, batch_size, shuffle=True, workers=num_workers, seed=seed, pin=pin)
    val_loader = (
        None if val is None
        else _loader(val.with_views(1), batch_size, shuffle=False, workers=num_workers, seed=seed, pin=pin)
    )  # fmt: skip
    rows: list[dict[str, float]] = []
    stopper = EarlyStopping(model, patience, desc)
    for epoch in range(1, int(epochs) + 1):
        start = time.perf_counter()
        train.set_epoch(epoch - 1)
        model.train()
        total, correct, count = 0.0, 0, 0
        bar = tqdm(
            train_loader, desc=f"{desc} epoch {epoch}/{epochs}", disable=not progress, leave=False
        )
        for batch, targets in bar:
            inputs, labels = batch.to(dev, non_blocking=pin), targets.to(dev, non_blocking=pin)
            logits = model(inputs)
            loss = criterion(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(labels)
            correct += int((logits.detach().argmax(1) == labels).sum())
            count += len(labels)
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
        row = {
            "epoch": epoch,
            "train_loss": total / count,
            "train_accuracy": correct / count,
            "val_loss": math.nan,
            "val_accuracy": math.nan,
        }
        if not math.isfinite(row["train_loss"]):
            raise FloatingPointError(
                f"training loss is {row['train_loss']} at epoch {epoch}; lower lr."
            )
        if val_loader is not None:
            row["val_loss"], row["val_accuracy"] = _evaluate(model, val_loader, criterion, dev)
        row["seconds"] = time.perf_counter() - start
        rows.append(row)
        if on_epoch is not None:
            on_epoch(epoch, dict(row))
        if stopper.step(epoch, row["val_loss"] if val_loader is not None else row["train_loss"]):
            break
    return stopper.restore().eval(), pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def predict_proba(
    model: nn.Module,
    data: ClipDataset,
    views: int | None = None,
    *,
    batch_size: int = 16,
    device: str = "auto",
    num_workers: int = 0,
) -> np.ndarray:
    """Class probabilities ``(clips, classes)``: the mean over ``views`` evenly spaced windows
    per clip (``data.views`` when None) of the softmax of ``model``'s logits."""
    if data.train:
        data = data.with_views(views or 1)  # evaluation windows, never augmented
    elif views is not None and views != data.views:
        data = data.with_views(views)
    dev = resolve_device(device)
    model = model.to(dev).eval()
    loader = _loader(data, batch_size, shuffle=False, workers=num_workers, seed=0, pin=False)
    parts = []
    with torch.no_grad():
        for inputs, _ in loader:
            parts.append(torch.softmax(model(inputs.to(dev)), dim=1).cpu())
    probs = torch.cat(parts).numpy()
    return probs.reshape(data.num_clips, data.views, -1).mean(axis=1)
