"""Self-supervised (SimSiam) training of the frame encoder.

Training input (``frames``), by ``input_mode`` (see ``actionlab.models.frame_encoder``):

* ``"rgb"``: uint8 frames ``(N, H, W, 3)``;
* ``"diff"`` / ``"diff_rgb"``: uint8 windows ``(N, 2k + 1, H, W, 3)``, ``k = diff_step``, each
  centred on the frame to learn from (``sample_windows(clips, config)`` builds them).

The loop: prepare every sample once (on the device), then per step two augmented views
(``TwoViewAugment``), SimSiam forward, symmetric stop-gradient loss, SGD/Adam with a cosine
learning-rate schedule (optional linear warm-up).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from actionlab.models.augment import TwoViewAugment
from actionlab.models.frame_encoder import FrameEncoder, load_backbone_weights, window_length
from actionlab.models.simsiam import SimSiam, collapse_std, simsiam_loss
from actionlab.runtime import resolve_device, seed_everything, set_threads

DEFAULT_CONFIG: dict[str, Any] = {
    "arch": "resnet18",
    "input_mode": "diff",  # "rgb" | "diff" | "diff_rgb"
    "input_size": 64,
    "diff_step": 1,  # k: differences against frames t-k and t+k (of the sampled clip frames)
    "diff_gain": 4.0,  # scale of the difference channels
    "proj_dim": 2048,
    "pred_hidden": 512,
    "epochs": 8,
    "batch_size": 64,
    "optimizer": "sgd",  # "sgd" | "adam"
    "lr": 0.05,  # peak learning rate (not scaled by batch size)
    "weight_decay": 1e-4,
    "momentum": 0.9,  # SGD only
    "warmup_epochs": 0,
    "crop_scale": [0.2, 1.0],  # RandomResizedCrop area range
    "flip": True,  # random horizontal flip
    "pair_gap": 0,  # 0: both views from one frame; g > 0: second view from a frame <= g away (same clip)
    "fix_pred_lr": True,  # predictor keeps the peak lr (paper's recommended setting)
    "frames_per_clip": 12,  # sample_windows: frames drawn per clip (null: all)
    "num_threads": None,  # torch CPU threads during training (null: leave as is)
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
    clips: Sequence[np.ndarray],
    config: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    return_index: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Training input for ``train_simsiam`` from uint8 clips ``(T, H, W, 3)`` (same H, W).

    Draws ``frames_per_clip`` frames per clip (all when null) and returns, for ``rgb``,
    frames ``(N, H, W, 3)``; for the temporal modes windows ``(N, 2k + 1, H, W, 3)`` around
    them, with neighbour indices clamped to the clip (as ``prepare`` does).
    """
    cfg = resolve_config(config)
    rng = np.random.default_rng(seed)
    k = (window_length(cfg["input_mode"], cfg["diff_step"]) - 1) // 2
    per_clip = cfg["frames_per_clip"]
    out, index = [], []
    for clip_id, clip in enumerate(clips):
        t_len = clip.shape[0]
        if per_clip is None or per_clip >= t_len:
            centres = np.arange(t_len)
        else:
            centres = np.sort(rng.choice(t_len, size=int(per_clip), replace=False))
        if cfg["input_mode"] == "rgb":
            out.append(clip[centres])
        else:
            idx = np.clip(centres[:, None] + np.arange(-k, k + 1)[None, :], 0, t_len - 1)
            out.append(clip[idx])
        index.append(np.stack([np.full(len(centres), clip_id), centres], axis=1))
    windows = np.ascontiguousarray(np.concatenate(out))
    if return_index:
        return windows, np.concatenate(index).astype(np.int64)
    return windows


def _lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    if warmup and step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def _build_optimizer(model: SimSiam, cfg: dict[str, Any]) -> torch.optim.Optimizer:
    groups = [
        {"params": list(model.encoder.parameters()) + list(model.projector.parameters()), "fix": False},
        {"params": list(model.predictor.parameters()), "fix": bool(cfg["fix_pred_lr"])},
    ]
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(
            groups, lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"]
        )
    return torch.optim.Adam(groups, lr=cfg["lr"], weight_decay=cfg["weight_decay"])


def _partner_table(index: np.ndarray, gap: int) -> torch.Tensor:
    """(N, M) indices of samples of the same clip whose frames are <= ``gap`` apart (-1 pads).

    A sample with no such neighbour is its own partner.
    """
    index = np.asarray(index, dtype=np.int64)
    order = np.lexsort((index[:, 1], index[:, 0]))
    rows: list[list[int]] = [[] for _ in range(len(index))]
    for a_pos, a in enumerate(order):
        for b in order[a_pos + 1 :]:
            if index[b, 0] != index[a, 0] or index[b, 1] - index[a, 1] > gap:
                break
            rows[a].append(int(b))
            rows[b].append(int(a))
    width = max(1, *(len(r) for r in rows))
    table = np.full((len(index), width), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        table[i, : len(r)] = r if r else [i]
    return torch.from_numpy(table)


def _draw_partners(idx: torch.Tensor, table: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    cand = table[idx]
    counts = (cand >= 0).sum(dim=1)
    pick = (torch.rand(len(idx), generator=gen) * counts).long()
    return cand[torch.arange(len(idx)), pick]


def _prepare_all(encoder: FrameEncoder, frames: np.ndarray, device: torch.device) -> torch.Tensor:
    chunk = 256
    parts = [encoder.prepare_windows(frames[i : i + chunk], device=device) for i in range(0, len(frames), chunk)]
    return torch.cat(parts)


def train_simsiam(
    frames: np.ndarray,
    *,
    config: dict[str, Any] | None = None,
    device: str = "auto",
    seed: int = 0,
    progress: bool = True,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    index: np.ndarray | None = None,
) -> tuple[FrameEncoder, pd.DataFrame]:
    """Train a frame encoder with SimSiam; return it (CPU, eval mode) and the per-epoch history.

    ``frames``: see the module doc (``sample_windows`` builds it from clips). ``config``: keys of
    ``DEFAULT_CONFIG`` (missing keys take the defaults). The history has one row per epoch with
    ``epoch`` (1-based), mean ``loss``, mean ``collapse_std`` of the projections, ``lr`` (at the
    epoch's last step) and wall ``seconds``; ``on_epoch(epoch, row)`` is called after each epoch.
    Same seed and config on CPU give the same history.

    ``index`` (N, 2) ``[clip_id, frame]`` per sample (``sample_windows(..., return_index=True)``)
    is needed when ``pair_gap > 0``: the second view then comes from another frame of the same
    clip at most ``pair_gap`` frames away (temporal positives).
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
        )
        if cfg["weights_path"]:
            load_backbone_weights(encoder, cfg["weights_path"])
        model = SimSiam(encoder, proj_dim=int(cfg["proj_dim"]), pred_hidden=int(cfg["pred_hidden"])).to(dev)
        data = _prepare_all(encoder, np.asarray(frames), dev)
        n = data.shape[0]
        if n < 2:
            raise ValueError(f"SimSiam needs at least 2 training frames, got {n}.")
        batch = min(int(cfg["batch_size"]), n)
        steps_per_epoch = max(1, n // batch)
        epochs = int(cfg["epochs"])
        total = epochs * steps_per_epoch
        warmup = int(round(float(cfg["warmup_epochs"]) * steps_per_epoch))
        gap = int(cfg["pair_gap"])
        partners = None
        if gap > 0:
            if index is None or len(index) != n:
                raise ValueError(
                    "ssl_training.pair_gap > 0 needs `index` (clip, frame) for every training "
                    "sample: use sample_windows(..., return_index=True)."
                )
            partners = _partner_table(index, gap)
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
                idx = perm[i * batch : (i + 1) * batch]
                other = idx if partners is None else _draw_partners(idx, partners, order_gen)
                x1 = augment.view(data[idx.to(dev)])
                x2 = augment.view(data[other.to(dev)])
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
                raise FloatingPointError(f"SimSiam loss is {row['loss']} at epoch {epoch}; lower ssl_training.lr.")
            rows.append(row)
            if on_epoch is not None:
                on_epoch(epoch, dict(row))
        encoder = model.encoder.cpu().eval()
        return encoder, pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    finally:
        torch.set_num_threads(previous_threads)
