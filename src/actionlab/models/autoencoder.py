"""Autoencoders for one-class anomaly scoring (no kedro).

- ``EmbeddingAutoencoder``: an MLP over clip embeddings ``(B, D)``: encoder layers
  ``Linear -> BatchNorm -> ReLU -> Dropout`` of the given sizes, a mirrored decoder and a linear
  output. Its score is the reconstruction error of a clip.
- ``SequenceAutoencoder``: a GRU encoder-decoder over per-frame features ``(B, T, D)`` with a
  padding mask. The encoder compresses the sequence into one vector; the decoder rebuilds every
  frame from it and the frame's relative position, so the per-frame error says *where* a clip
  deviates from the training clips.

Both standardise their input with training statistics kept as buffers (``_Standardize``), and
measure errors in that standardised space, so a state dict plus ``config`` is a whole model.
``train_autoencoder`` fits either one: AdamW, best state by validation error, seeded, on a chosen
device, with a progress bar over epochs and a per-epoch loss history.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from tqdm.auto import tqdm

from actionlab.models.classifiers import _Standardize, pad_batch
from actionlab.models.early_stopping import EarlyStopping
from actionlab.models.train_classifier import holdout_split
from actionlab.runtime import resolve_device, seed_everything

logger = logging.getLogger(__name__)
REDUCTIONS = ("mean", "sum")  # squared error over the features of a clip (or of a frame)
CLIP_REDUCTIONS = ("mean", "max", "percentile")  # per-frame errors -> one clip score
HISTORY_COLUMNS = ["epoch", "train_loss", "val_loss"]


def _squared_error(x: torch.Tensor, target: torch.Tensor, reduction: str) -> torch.Tensor:
    """Squared error over the last axis: its mean or sum."""
    err = (x - target).pow(2)
    if reduction == "mean":
        return err.mean(-1)
    if reduction == "sum":
        return err.sum(-1)
    raise ValueError(f"unknown reduction {reduction!r}; expected one of {REDUCTIONS}")


class EmbeddingAutoencoder(nn.Module):
    """Clip embeddings ``(B, D)`` -> their reconstruction (standardised space).

    ``hidden`` are the encoder's layer sizes (the last is the bottleneck); the decoder mirrors
    them and ends in a linear layer to ``in_dim``.
    """

    def __init__(
        self, in_dim: int, *, hidden: Sequence[int] = (256, 128), dropout: float = 0.1,
        reduction: str = "mean",
    ) -> None:  # fmt: skip
        super().__init__()
        if not hidden:
            raise ValueError("hidden needs at least one layer size")
        if reduction not in REDUCTIONS:
            raise ValueError(f"unknown reduction {reduction!r}; expected one of {REDUCTIONS}")
        self.config = {"in_dim": in_dim, "hidden": [int(h) for h in hidden], "dropout": dropout,
                       "reduction": reduction}  # fmt: skip
        self.norm_in = _Standardize(in_dim)
        self.encoder = _mlp([in_dim, *hidden], dropout)
        mirrored = list(hidden)[::-1]
        self.decoder = nn.Sequential(*_mlp(mirrored, dropout), nn.Linear(mirrored[-1], in_dim))

    def fit_stats(self, items: Sequence[np.ndarray] | np.ndarray) -> None:
        """Set the input standardisation from the training embeddings ``(n, D)``."""
        self.norm_in.fit(np.asarray(items, np.float64))

    def batch(self, items: Sequence[np.ndarray] | np.ndarray, device: torch.device) -> tuple[torch.Tensor, ...]:
        return (torch.as_tensor(np.asarray(items), dtype=torch.float32, device=device),)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The standardised input and its reconstruction."""
        z = self.norm_in(x)
        return z, self.decoder(self.encoder(z))

    def errors(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction error per clip ``(B,)``."""
        z, out = self(x)
        return _squared_error(out, z, self.config["reduction"])

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        return self.errors(x).mean()


def _mlp(sizes: Sequence[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


class SequenceAutoencoder(nn.Module):
    """Per-frame features ``(B, T, D)`` (padded, with a validity mask) -> their reconstruction.

    A GRU encoder reads the valid frames (packed, so padding never reaches it); its last hidden
    state, projected to ``latent``, is the clip's code. A GRU decoder gets, at every step, the
    code and the frame's relative position ``t / (length - 1)`` and a linear layer rebuilds the
    frame. ``clip_reduction`` turns the per-frame errors into the clip score: their ``mean``,
    ``max`` or ``clip_percentile``-th ``percentile``.
    """

    def __init__(
        self, in_dim: int, *, hidden: int = 64, latent: int = 32, layers: int = 1, dropout: float = 0.0,
        reduction: str = "mean", clip_reduction: str = "mean", clip_percentile: float = 90.0,
        max_len: int = 64,
    ) -> None:  # fmt: skip
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"unknown reduction {reduction!r}; expected one of {REDUCTIONS}")
        if clip_reduction not in CLIP_REDUCTIONS:
            raise ValueError(f"unknown clip_reduction {clip_reduction!r}; expected one of {CLIP_REDUCTIONS}")
        self.config = {
            "in_dim": in_dim, "hidden": hidden, "latent": latent, "layers": layers, "dropout": dropout,
            "reduction": reduction, "clip_reduction": clip_reduction,
            "clip_percentile": float(clip_percentile), "max_len": max_len,
        }  # fmt: skip
        self.max_len = max_len
        self.norm_in = _Standardize(in_dim)
        inner = dropout if layers > 1 else 0.0
        self.encoder = nn.GRU(in_dim, hidden, layers, batch_first=True, dropout=inner)
        self.to_code = nn.Linear(hidden, latent)
        self.decoder = nn.GRU(latent + 1, hidden, layers, batch_first=True, dropout=inner)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, in_dim)

    def fit_stats(self, items: Sequence[np.ndarray]) -> None:
        """Set the input standardisation from every frame of the training sequences."""
        self.norm_in.fit(np.concatenate([np.asarray(s, np.float64) for s in items]))

    def batch(self, items: Sequence[np.ndarray], device: torch.device) -> tuple[torch.Tensor, ...]:
        x, mask = pad_batch(items, self.max_len)
        return x.to(device), mask.to(device)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The standardised input ``(B, T, D)`` and its reconstruction (padded frames: zeros in,
        anything out; ``frame_errors`` masks them)."""
        z = self.norm_in(x) * mask.unsqueeze(-1)
        lengths = mask.sum(1).clamp_min(1)
        packed = pack_padded_sequence(z, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, h = self.encoder(packed)
        code = self.drop(self.to_code(h[-1]))  # (B, latent)
        steps = torch.arange(x.shape[1], device=x.device, dtype=z.dtype)
        position = (steps[None] / (lengths[:, None] - 1).clamp_min(1)).clamp(max=1.0)  # (B, T)
        dec_in = torch.cat([code[:, None].expand(-1, x.shape[1], -1), position[..., None]], -1)
        out, _ = self.decoder(dec_in)
        return z, self.out(self.drop(out))

    def frame_errors(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Reconstruction error per frame ``(B, T)``; padded frames are 0."""
        z, out = self(x, mask)
        return _squared_error(out, z, self.config["reduction"]) * mask

    def errors(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The clip score ``(B,)`` from its valid frames' errors (``clip_reduction``)."""
        return clip_score(self.frame_errors(x, mask), mask, self.config["clip_reduction"],
                          self.config["clip_percentile"])  # fmt: skip

    def loss(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean error over every valid frame of the batch."""
        return self.frame_errors(x, mask).sum() / mask.sum().clamp_min(1)


def clip_score(frame_errors: torch.Tensor, mask: torch.Tensor, how: str, percentile: float = 90.0) -> torch.Tensor:
    """Per-frame errors ``(B, T)`` with their mask -> one score per clip: the ``mean``, ``max`` or
    the ``percentile``-th percentile (linear interpolation) of the valid frames."""
    if how == "mean":
        return (frame_errors * mask).sum(1) / mask.sum(1).clamp_min(1)
    if how == "max":
        return frame_errors.masked_fill(~mask, float("-inf")).amax(1)
    if how == "percentile":
        return torch.stack([
            torch.quantile(row[m], percentile / 100.0) for row, m in zip(frame_errors, mask, strict=True)
        ])  # fmt: skip
    raise ValueError(f"unknown clip_reduction {how!r}; expected one of {CLIP_REDUCTIONS}")


AUTOENCODERS = {"autoencoder": EmbeddingAutoencoder, "sequence_autoencoder": SequenceAutoencoder}


def build_autoencoder(name: str, in_dim: int, config: dict[str, Any]) -> nn.Module:
    """``autoencoder`` (clip embeddings) or ``sequence_autoencoder`` (frame features)."""
    if name not in AUTOENCODERS:
        raise ValueError(f"unknown autoencoder {name!r}; expected one of {tuple(AUTOENCODERS)}")
    return AUTOENCODERS[name](in_dim, **config)


# ------------------------------------------------------------------------------------ training


def _mean_loss(model: nn.Module, items: Sequence[Any], batch_size: int, device: torch.device) -> float:
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for i in range(0, len(items), batch_size):
            chunk = items[i : i + batch_size]
            total += float(model.errors(*model.batch(chunk, device)).sum())
    return total / len(items)


def train_autoencoder(
    model: nn.Module,
    train: Sequence[Any],
    val: Sequence[Any] | None = None,
    *,
    epochs: int = 200,
    batch_size: int = 32,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    patience: int = 20,
    val_share: float = 0.2,
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
    desc: str = "autoencoder",
) -> tuple[nn.Module, pd.DataFrame]:
    """Train an autoencoder (``EmbeddingAutoencoder`` on embeddings ``(n, D)``,
    ``SequenceAutoencoder`` on sequences ``(T_i, D)``) on ``train`` (normal clips only) and keep
    the state with the lowest validation error (the mean clip score on ``val``). Without ``val``
    (or an empty one) a ``val_share`` of ``train`` is held out. The input standardisation is
    fitted on the training items. Returns the model (best state, eval mode, on ``device``) and
    its history (epoch, train_loss, val_loss)."""
    generator = seed_everything(seed)
    items = list(train)
    if val is None or len(val) == 0:
        fit_idx, val_idx = holdout_split(np.zeros(len(items)), val_share, seed)
        val = [items[i] for i in val_idx]
        items = [items[i] for i in fit_idx]
        logger.info("%s: no validation clips; %d of the %d training clips held out",
                    desc, len(val_idx), len(val_idx) + len(fit_idx))  # fmt: skip
    val_items = list(val)
    if len(items) < 2:
        raise ValueError(f"{desc}: {len(items)} training clip(s); an autoencoder needs at least 2")
    dev = resolve_device(device)
    model.fit_stats(items)
    model.to(dev)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    rows, stopper = [], EarlyStopping(model, patience, desc)
    bar = tqdm(range(1, epochs + 1), desc=desc, unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(items), generator=generator).numpy()
        total = 0.0
        for i in range(0, len(order), batch_size):
            pick = order[i : i + batch_size]
            if len(pick) < 2 and len(order) > 1:  # BatchNorm needs 2 items: skip a last single one
                continue
            loss = model.loss(*model.batch([items[j] for j in pick], dev))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(pick)
        row = {"epoch": epoch, "train_loss": total / len(items), "val_loss": np.nan}
        if val_items:
            row["val_loss"] = _mean_loss(model, val_items, batch_size, dev)
        rows.append(row)
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", val=f"{row['val_loss']:.3f}")
        if stopper.step(epoch, row["val_loss"] if val_items else row["train_loss"]):
            break
    bar.close()
    return stopper.restore().eval(), pd.DataFrame(rows, columns=HISTORY_COLUMNS)


@torch.inference_mode()
def autoencoder_scores(
    model: nn.Module, items: Sequence[Any], *, batch_size: int = 64, device: str | torch.device = "cpu"
) -> np.ndarray:
    """The clip score (reconstruction error) of each item ``(n,)``."""
    model.eval()
    dev = torch.device(device)
    model.to(dev)
    out = [model.errors(*model.batch(items[i : i + batch_size], dev)).cpu().numpy()
           for i in range(0, len(items), batch_size)]  # fmt: skip
    return np.concatenate(out).astype(np.float64) if out else np.zeros(0)


@torch.inference_mode()
def sequence_frame_errors(
    model: SequenceAutoencoder, sequences: Sequence[np.ndarray], *, device: str | torch.device = "cpu"
) -> list[np.ndarray]:
    """The per-frame reconstruction errors of each sequence (one array of its length each; a
    sequence longer than ``max_len`` is resampled to ``max_len`` frames first)."""
    model.eval()
    dev = torch.device(device)
    model.to(dev)
    out = []
    for seq in sequences:
        x, mask = model.batch([seq], dev)
        out.append(model.frame_errors(x, mask)[0, : int(mask.sum())].cpu().numpy().astype(np.float64))
    return out
