"""Self-supervised (SimSiam) training of the frame encoder, streamed from the stored clips.

Training samples are uint8 windows of ``L`` frames centred on the frame to learn from, ``L = 1``
for ``rgb`` and ``2 * diff_step + 1`` for ``diff`` / ``diff_rgb`` (the neighbours the difference
channels need), drawn from each clip after its region of interest is cut
(``actionlab.models.data``):

* ``(L, H, W, 3)``: classic SimSiam, both views are random augmentations of the same frame
  (``pair_gap = 0``);
* ``(2, L, H, W, 3)``: window *pairs* (``pair_gap > 0``): the second view is an augmentation
  of a frame up to ``pair_gap`` frames away in the same clip (temporal positives: the encoder
  learns what stays constant over a short stretch of the action, i.e. the kind of motion, and
  is not rewarded for telling frames of one clip apart by appearance).

``train_simsiam`` takes a ``ClipWindows`` dataset (clips read one at a time in DataLoader
workers, ``loader_workers`` processes with ``prefetch`` batches each) and moves one batch at a
time to the device; per step: the batch is prepared (``prepare_windows``) on the device, two
augmented views (``TwoViewAugment``), SimSiam forward, symmetric stop-gradient loss, SGD/Adam
with a cosine learning-rate schedule (optional linear warm-up) over ``epochs * (N // batch)``
steps, ``N`` the samples per epoch known from the clip lengths. ``sample_windows`` gives the
windows of clips in memory as one array (inspection, small tests); ``train_simsiam`` also takes
such an array.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from actionlab.models.augment import TwoViewAugment
from actionlab.models.data import (
    SAMPLE_KEYS,
    ClipWindows,
    WindowArray,
    clip_rng,
    make_loader,
    roi_clip,
    window_indices,
)
from actionlab.models.frame_encoder import FrameEncoder, load_backbone_weights, window_length
from actionlab.models.simsiam import SimSiam, collapse_std, simsiam_loss
from actionlab.runtime import resolve_device, seed_everything, set_threads

__all__ = [
    "DEFAULT_CONFIG",
    "HISTORY_COLUMNS",
    "ClipWindows",
    "resolve_config",
    "sample_windows",
    "train_simsiam",
]

DEFAULT_CONFIG: dict[str, Any] = {
    "arch": "resnet18",  # torchvision ResNet, random init unless weights_path
    "input_mode": "diff",  # "rgb" | "diff" (motion only) | "diff_rgb"
    "input_size": 64,  # frames resized to input_size x input_size
    "diff_step": 1,  # k: differences to frames t-k and t+k (in sampled clip frames)
    "diff_gain": 4.0,  # scale of the difference channels
    "norm": "scale",  # backbone norm: "batch" | "frozen" | "scale" (FixedNorm2d; see FrameEncoder)
    "pool": "avg",  # spatial pooling of the last feature map: "avg" | "max"
    "roi": "motion",  # "motion" (crop to the moving figure, camera shake undone) | "full" frame
    "mirror": True,  # downstream features averaged with those of the mirrored frame
    "proj_dim": 2048,  # projector width (paper 2048)
    "pred_hidden": 512,  # predictor bottleneck (paper 512)
    "epochs": 5,
    "batch_size": 64,
    "optimizer": "sgd",  # "sgd" | "adam"
    "lr": 0.05,  # peak learning rate of the cosine schedule (not scaled by batch size)
    "weight_decay": 1e-4,
    "momentum": 0.9,  # SGD only
    "warmup_epochs": 0,  # linear warm-up epochs before the cosine decay
    "fix_pred_lr": True,  # predictor keeps the peak lr (paper's recommended setting)
    "crop_scale": [0.2, 1.0],  # RandomResizedCrop area range
    "flip": True,  # random horizontal flip
    "pair_gap": 4,  # sample_windows: 0 = both views from one frame; g = 2nd view <= g frames away
    "frames_per_clip": None,  # sample_windows: centre frames drawn per clip (null: all)
    "loader_workers": 0,  # DataLoader worker processes reading clips (0: in the training process)
    "prefetch": 2,  # batches each loader worker prepares ahead (loader_workers > 0 only)
    "num_threads": None,  # torch CPU threads while training (null: leave as is)
    "weights_path": None,  # optional local torchvision state dict for the backbone
}
HISTORY_COLUMNS = ["epoch", "loss", "collapse_std", "lr", "seconds"]


def resolve_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with ``config``; unknown keys raise (typos in parameters files)."""
    cfg = dict(DEFAULT_CONFIG)
    unknown = set(config or {}) - set(cfg)
    if unknown:
        raise ValueError(f"Unknown ssl_training keys {sorted(unknown)}; known: {sorted(cfg)}.")
    cfg.update(config or {})
    if cfg["optimizer"] not in ("sgd", "adam"):
        raise ValueError(f"ssl_training.optimizer={cfg['optimizer']!r}; expected 'sgd' or 'adam'.")
    if int(cfg["loader_workers"]) < 0 or int(cfg["prefetch"]) < 1:
        raise ValueError(
            f"ssl_training.loader_workers={cfg['loader_workers']!r} must be >= 0 and "
            f"ssl_training.prefetch={cfg['prefetch']!r} >= 1."
        )
    return cfg


def sample_windows(
    clips: Iterable[np.ndarray],
    config: dict[str, Any] | None = None,
    *,
    seed: int = 0,
) -> np.ndarray:
    """All training windows of uint8 clips ``(T, H, W, 3)`` (same H, W after the ROI) as one array.

    A convenience for clips already in memory (inspection, tests): training streams them with
    ``ClipWindows`` instead. Equals the windows of ``ClipWindows.from_arrays(clips, config,
    seed=seed, shuffle=False)`` in epoch 0, in clip order: each clip is cut to the encoder's
    region of interest (``apply_roi``), ``frames_per_clip`` centre frames are drawn (all when
    null), each widened to a window of ``L`` frames (neighbours clamped to the clip), paired
    with a window ``1..pair_gap`` frames away when ``pair_gap > 0`` (``window_indices``).

    Returns uint8 ``(N, L, H, W, 3)`` (``pair_gap = 0``) or ``(N, 2, L, H, W, 3)`` (pairs).
    """
    cfg = resolve_config(config)
    out = []
    for i, item in enumerate(clips):
        clip = roi_clip(item, cfg)
        out.append(clip[window_indices(len(clip), cfg, clip_rng(seed, 0, i))])
    return np.ascontiguousarray(np.concatenate(out))


def _lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    if warmup and step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def _build_optimizer(model: SimSiam, cfg: dict[str, Any]) -> torch.optim.Optimizer:
    groups = [
        {
            "params": list(model.encoder.parameters()) + list(model.projector.parameters()),
            "fix": False,
        },
        {"params": list(model.predictor.parameters()), "fix": bool(cfg["fix_pred_lr"])},
    ]
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(
            groups, lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"]
        )
    return torch.optim.Adam(groups, lr=cfg["lr"], weight_decay=cfg["weight_decay"])


def _check_windows(frames: np.ndarray | torch.Tensor, mode: str, diff_step: int) -> None:
    """Raise unless ``frames`` are windows ``(N, L, ...)`` or pairs ``(N, 2, L, ...)`` for the mode."""
    length = window_length(mode, diff_step)
    shape = tuple(frames.shape)
    single = len(shape) == 5 and shape[1] == length
    pairs = len(shape) == 6 and shape[1] == 2 and shape[2] == length
    if not (single or pairs or (mode == "rgb" and len(shape) == 4)):
        raise ValueError(
            f"input_mode={mode!r} with diff_step={diff_step} trains on windows "
            f"(N, {length}, H, W, 3) or window pairs (N, 2, {length}, H, W, 3) from "
            f"sample_windows / ClipWindows; got frames of shape {shape}."
        )


def _prepare_batch(
    encoder: FrameEncoder, frames: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Prepared inputs (on ``frames``' device) of the two views: the same tensor twice unless
    ``frames`` are window pairs."""
    _check_windows(frames, encoder.config["input_mode"], encoder.config["diff_step"])
    if frames.ndim == 4:  # rgb frames without the window axis
        frames = frames[:, None]
    if frames.ndim == 5:
        data = encoder.prepare_windows(frames)
        return data, data
    return encoder.prepare_windows(frames[:, 0]), encoder.prepare_windows(frames[:, 1])


def _check_dataset(dataset: ClipWindows, cfg: dict[str, Any]) -> None:
    """The dataset must draw the samples the training config describes."""
    differ = [k for k in SAMPLE_KEYS if dataset.config[k] != cfg[k]]
    if differ:
        pairs = ", ".join(f"{k}={dataset.config[k]!r} vs {cfg[k]!r}" for k in differ)
        raise ValueError(f"ClipWindows and the training config disagree: {pairs}.")


def _batches(loader: DataLoader, size: int, device: torch.device) -> Iterator[torch.Tensor]:
    """Batches of exactly ``size`` samples on ``device`` from the loader's (possibly short)
    batches, moved one at a time; a final remainder shorter than ``size`` is dropped."""
    pending: list[torch.Tensor] = []
    count = 0
    for chunk in loader:
        pending.append(chunk.to(device, non_blocking=True))
        count += len(pending[-1])
        while count >= size:
            joined = torch.cat(pending) if len(pending) > 1 else pending[0]
            yield joined[:size]
            pending = [joined[size:]] if count > size else []
            count -= size


def train_simsiam(
    data: ClipWindows | np.ndarray,
    *,
    config: dict[str, Any] | None = None,
    device: str = "auto",
    seed: int = 0,
    progress: bool = True,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[FrameEncoder, pd.DataFrame]:
    """Train a frame encoder with SimSiam; return it (CPU, eval mode) and the per-epoch history.

    ``data``: a ``ClipWindows`` built with the same sampling keys (``SAMPLE_KEYS``) as
    ``config``, read through a DataLoader with ``loader_workers`` workers and ``prefetch``
    batches each (pinned memory on CUDA); or windows already in memory (``sample_windows``
    output). ``config``: keys of ``DEFAULT_CONFIG`` (missing keys take the defaults). One batch
    at a time is on the device. An epoch is ``N // batch_size`` steps, ``N`` the samples per
    epoch (from the clip lengths); its remainder is dropped (a different one each epoch).

    The history has one row per epoch with ``epoch`` (1-based), mean ``loss``, mean
    ``collapse_std`` of the projections, ``lr`` (at the epoch's last step) and wall ``seconds``;
    ``on_epoch(epoch, row)`` is called after each epoch. Same seed, data, config and
    ``loader_workers`` on CPU give the same history (a different ``loader_workers`` changes
    the batches: see ``actionlab.models.data``).
    """
    cfg = resolve_config(config)
    dev = resolve_device(device)
    if isinstance(data, ClipWindows):
        _check_dataset(data, cfg)
        dataset: ClipWindows | WindowArray = data
        n = data.num_samples
    else:
        windows = np.asarray(data)
        _check_windows(windows, cfg["input_mode"], cfg["diff_step"])
        dataset = WindowArray(windows)
        n = len(windows)
    if n < 2:
        raise ValueError(f"SimSiam needs at least 2 training frames, got {n}.")
    previous_threads = torch.get_num_threads()
    set_threads(cfg["num_threads"])
    try:
        seed_everything(seed)
        encoder = FrameEncoder(
            arch=cfg["arch"],
            input_mode=cfg["input_mode"],
            input_size=cfg["input_size"],
            diff_step=cfg["diff_step"],
            diff_gain=cfg["diff_gain"],
            norm=cfg["norm"],
            pool=cfg["pool"],
            roi=cfg["roi"],
            mirror=cfg["mirror"],
        )
        if cfg["weights_path"]:
            load_backbone_weights(encoder, cfg["weights_path"])
        model = SimSiam(
            encoder, proj_dim=int(cfg["proj_dim"]), pred_hidden=int(cfg["pred_hidden"])
        ).to(dev)
        batch = min(int(cfg["batch_size"]), n)
        steps_per_epoch = max(1, n // batch)
        epochs = int(cfg["epochs"])
        total = epochs * steps_per_epoch
        warmup = int(round(float(cfg["warmup_epochs"]) * steps_per_epoch))
        augment = TwoViewAugment(
            cfg["input_mode"],
            cfg["input_size"],
            scale=tuple(cfg["crop_scale"]),
            flip_p=0.5 if cfg["flip"] else 0.0,
            diff_gain=cfg["diff_gain"],
        )
        optimizer = _build_optimizer(model, cfg)
        loader = make_loader(
            dataset,
            batch,
            num_workers=int(cfg["loader_workers"]),
            prefetch=int(cfg["prefetch"]),
            pin_memory=dev.type == "cuda",
            seed=seed,
        )
        rows: list[dict[str, float]] = []
        step = 0
        model.train()
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            if isinstance(dataset, ClipWindows):
                dataset.set_epoch(epoch - 1)
            batches = _batches(loader, batch, dev)
            losses, stds = [], []
            lr = cfg["lr"]
            bar = tqdm(
                range(steps_per_epoch),
                desc=f"SimSiam epoch {epoch}/{epochs}",
                disable=not progress,
                leave=False,
            )
            for _ in bar:
                frames = next(batches, None)
                if frames is None:
                    raise RuntimeError(
                        f"The training data gave fewer than {steps_per_epoch} batches of "
                        f"{batch} in epoch {epoch}, the number its clip lengths promise."
                    )
                lr = _lr_at(step, total, warmup, float(cfg["lr"]))
                for group in optimizer.param_groups:
                    group["lr"] = float(cfg["lr"]) if group["fix"] else lr
                with torch.no_grad():
                    first, second = _prepare_batch(encoder, frames)
                x1 = augment.view(first)
                x2 = augment.view(second)
                p1, p2, z1, z2 = model(x1, x2)
                loss = simsiam_loss(p1, p2, z1, z2)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(float(loss.detach()))
                stds.append(collapse_std(z1))
                bar.set_postfix(loss=f"{losses[-1]:.3f}", std=f"{stds[-1]:.3f}")
                step += 1
            batches.close()  # stops the epoch's loader workers
            row = {
                "epoch": epoch,
                "loss": float(np.mean(losses)),
                "collapse_std": float(np.mean(stds)),
                "lr": float(lr),
                "seconds": time.perf_counter() - start,
            }
            if not math.isfinite(row["loss"]):
                raise FloatingPointError(
                    f"SimSiam loss is {row['loss']} at epoch {epoch}; lower ssl_training.lr."
                )
            rows.append(row)
            if on_epoch is not None:
                on_epoch(epoch, dict(row))
        encoder = model.encoder.cpu().eval()
        return encoder, pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    finally:
        torch.set_num_threads(previous_threads)
