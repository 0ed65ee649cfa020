"""Self-supervised (SimSiam) training of the frame encoder.

Training input (``frames``, built from clips by ``sample_windows(clips, config)``): uint8
windows of ``L`` frames centred on the frame to learn from, ``L = 1`` for ``rgb`` and
``2 * diff_step + 1`` for ``diff`` / ``diff_rgb`` (the neighbours the difference channels need):

* ``(N, L, H, W, 3)`` (``rgb`` also ``(N, H, W, 3)``): classic SimSiam, both views are random
  augmentations of the same frame;
* ``(N, 2, L, H, W, 3)``: window *pairs* (``pair_gap > 0``): the second view is an augmentation
  of a frame up to ``pair_gap`` frames away in the same clip (temporal positives: the encoder
  learns what stays constant over a short stretch of the action, i.e. the kind of motion, and
  is not rewarded for telling frames of one clip apart by appearance).

The loop: prepare every sample once (on the device), then per step two augmented views
(``TwoViewAugment``), SimSiam forward, symmetric stop-gradient loss, SGD/Adam with a cosine
learning-rate schedule (optional linear warm-up).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from actionlab.models.augment import TwoViewAugment
from actionlab.models.frame_encoder import (
    FrameEncoder,
    apply_roi,
    load_backbone_weights,
    window_length,
)
from actionlab.models.simsiam import SimSiam, collapse_std, simsiam_loss
from actionlab.runtime import resolve_device, seed_everything, set_threads

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
    return cfg


def sample_windows(
    clips: Iterable[np.ndarray],
    config: dict[str, Any] | None = None,
    *,
    seed: int = 0,
) -> np.ndarray:
    """Training input for ``train_simsiam`` from uint8 clips ``(T, H, W, 3)`` (same H, W).

    ``clips`` may be a generator: only the sampled frames of each clip are kept.

    Each clip is first cut to the encoder's region of interest (``apply_roi``: with
    ``roi="motion"`` the box around the moving figure, ``input_size`` pixels square). Draws
    ``frames_per_clip`` centre frames per clip (all when null). Each becomes a window of
    ``L = window_length(input_mode, diff_step)`` frames around it (neighbour indices clamped to
    the clip, as ``prepare`` does). With ``pair_gap = g > 0`` each window is paired with the
    window around a frame ``1..g`` frames away in the same clip (a temporal positive).

    Returns uint8 ``(N, L, H, W, 3)`` (``pair_gap = 0``) or ``(N, 2, L, H, W, 3)`` (pairs).
    """
    cfg = resolve_config(config)
    rng = np.random.default_rng(seed)
    length = window_length(cfg["input_mode"], cfg["diff_step"])
    offsets = np.arange(length) - length // 2
    gap = int(cfg["pair_gap"])
    per_clip = cfg["frames_per_clip"]
    out = []
    for item in clips:
        clip = np.asarray(item)
        if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8:
            raise ValueError(f"Expected uint8 clips (T, H, W, 3); got {clip.dtype} {clip.shape}.")
        clip = apply_roi(clip, cfg["roi"], cfg["input_size"])
        t_len = clip.shape[0]
        if per_clip is None or per_clip >= t_len:
            centres = np.arange(t_len)
        else:
            centres = np.sort(rng.choice(t_len, size=int(per_clip), replace=False))
        idx = np.clip(centres[:, None] + offsets[None, :], 0, t_len - 1)
        if gap > 0:
            shift = rng.integers(1, gap + 1, size=len(centres)) * rng.choice([-1, 1], len(centres))
            partner = centres + shift
            partner = np.where((partner < 0) | (partner >= t_len), centres - shift, partner)
            partner = np.clip(partner, 0, t_len - 1)
            idx2 = np.clip(partner[:, None] + offsets[None, :], 0, t_len - 1)
            idx = np.stack([idx, idx2], axis=1)
        out.append(clip[idx])
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


def _prepare_input(
    encoder: FrameEncoder, frames: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Prepared inputs of the two views' frames: the same tensor twice unless ``frames`` are pairs."""
    mode = encoder.config["input_mode"]
    length = window_length(mode, encoder.config["diff_step"])
    if frames.ndim == 4 and mode == "rgb":
        frames = frames[:, None]
    if frames.ndim == 5 and frames.shape[1] == length:
        pairs = False
    elif frames.ndim == 6 and frames.shape[1] == 2 and frames.shape[2] == length:
        pairs = True
    else:
        raise ValueError(
            f"input_mode={mode!r} with diff_step={encoder.config['diff_step']} trains on windows "
            f"(N, {length}, H, W, 3) or window pairs (N, 2, {length}, H, W, 3) from "
            f"sample_windows; got frames of shape {frames.shape}."
        )

    def prep(x: np.ndarray) -> torch.Tensor:
        chunk = 256
        return torch.cat(
            [
                encoder.prepare_windows(x[i : i + chunk], device=device)
                for i in range(0, len(x), chunk)
            ]
        )

    if not pairs:
        data = prep(frames)
        return data, data
    return prep(frames[:, 0]), prep(frames[:, 1])


def train_simsiam(
    frames: np.ndarray,
    *,
    config: dict[str, Any] | None = None,
    device: str = "auto",
    seed: int = 0,
    progress: bool = True,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[FrameEncoder, pd.DataFrame]:
    """Train a frame encoder with SimSiam; return it (CPU, eval mode) and the per-epoch history.

    ``frames``: see the module doc (``sample_windows`` builds it from clips). ``config``: keys of
    ``DEFAULT_CONFIG`` (missing keys take the defaults). The history has one row per epoch with
    ``epoch`` (1-based), mean ``loss``, mean ``collapse_std`` of the projections, ``lr`` (at the
    epoch's last step) and wall ``seconds``; ``on_epoch(epoch, row)`` is called after each epoch.
    Same seed and config on CPU give the same history.
    """
    cfg = resolve_config(config)
    dev = resolve_device(device)
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
        first, second = _prepare_input(encoder, np.asarray(frames), dev)
        n = first.shape[0]
        if n < 2:
            raise ValueError(f"SimSiam needs at least 2 training frames, got {n}.")
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
        order_gen = torch.Generator().manual_seed(seed)
        rows: list[dict[str, float]] = []
        step = 0
        model.train()
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            perm = torch.randperm(n, generator=order_gen)
            losses, stds = [], []
            lr = cfg["lr"]
            bar = tqdm(
                range(steps_per_epoch),
                desc=f"SimSiam epoch {epoch}/{epochs}",
                disable=not progress,
                leave=False,
            )
            for i in bar:
                lr = _lr_at(step, total, warmup, float(cfg["lr"]))
                for group in optimizer.param_groups:
                    group["lr"] = float(cfg["lr"]) if group["fix"] else lr
                idx = perm[i * batch : (i + 1) * batch].to(dev)
                x1 = augment.view(first[idx])
                x2 = augment.view(second[idx])
                p1, p2, z1, z2 = model(x1, x2)
                loss = simsiam_loss(p1, p2, z1, z2)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(float(loss.detach()))
                stds.append(collapse_std(z1))
                bar.set_postfix(loss=f"{losses[-1]:.3f}", std=f"{stds[-1]:.3f}")
                step += 1
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
