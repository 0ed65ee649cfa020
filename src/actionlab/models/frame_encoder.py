"""The frame encoder: a ResNet backbone (no head) plus the input preparation it was trained with.

Input modes (what ``prepare`` builds from a uint8 clip ``(T, H, W, 3)``):

``"rgb"``
    ``(T, 3, s, s)``: the frame, normalised to roughly zero mean / unit std. Sees appearance,
    so on videos with a static background the background dominates the features.
``"diff"``
    ``(T, 3, s, s)``: motion only. With ``g`` the grey frames and ``k = diff_step``, frame ``t``
    gets the signed temporal differences ``[g[t] - g[t-k], g[t+k] - g[t], g[t+k] - g[t-k]]``
    (scaled by ``diff_gain``). Neighbour indices are clamped to the clip, so the first and last
    frames get one-sided differences. A static background (and a static camera) gives zeros.
``"diff_rgb"``
    ``(T, 6, s, s)``: the three ``diff`` channels followed by the three ``rgb`` channels (the
    stem convolution takes 6 channels).

Region of interest (``roi``, applied to the whole clip before the input mode):

``"motion"`` (what ``ssl_training`` uses by default)
    ``actionlab.video.stabilize.motion_crop``: camera shake is undone and every frame is cut to
    the square box around what moves in the clip (fixed for the clip), resized to
    ``input_size``. The figure fills the input whatever its place and size in the frame. On the
    built-in videos (figure ~40 px tall in 128 px frames) this and the normalised features below
    lifted the clustering NMI of the untrained encoder from 0.22 to about 0.8.
``"full"`` (the constructor's default, so encoders saved before ``roi`` existed load as they were)
    the whole frame, resized.

Features (``features``): the backbone output L2-normalised per frame (the SimSiam loss is a
cosine, so only the direction is trained; normalising also cancels the contrast of the
figure against its background), and with ``mirror`` the mean of the frame's and its
left/right mirror image's normalised features (waving with the left or the right arm, or
walking left or right, give the same features). A still frame (all-zero ``diff`` input) gives
zero features.

Training works frame by frame, so frames for the temporal modes come as *windows*: a uint8
array ``(N, 2k + 1, H, W, 3)`` centred on the frame to encode (see ``prepare_windows`` and
``actionlab.models.ssl_train.sample_windows``).

Backbone normalisation (``norm``):

``"scale"`` (default)
    ``FixedNorm2d`` without shift: every BatchNorm keeps identity statistics and a zero bias
    and only learns a per-channel scale, so the backbone is positively homogeneous
    (``f(a * x) = a * f(x)`` for ``a >= 0``, ``f(0) = 0``). In ``diff`` mode a still frame gives
    exactly zero features (also after ``features`` normalises them). Measured on ud810 with the
    whole-frame input: BatchNorm statistics estimated from the data (``"batch"``) re-weight faint
    appearance edges up to the level of the arm motion and drop the clustering NMI from 0.79 to
    0.39 even with random weights.
``"frozen"``
    fixed statistics, learned scale and shift.
``"batch"``
    plain ``nn.BatchNorm2d`` (torchvision's default).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision
from torch import nn
from torch.nn import functional as F

from actionlab.video.stabilize import motion_crop

INPUT_MODES = ("rgb", "diff", "diff_rgb")
NORMS = ("batch", "frozen", "scale")
POOLS = ("avg", "max")
ROIS = ("motion", "full")
RGB_MEAN = 0.45
RGB_STD = 0.225
_GREY = (0.299, 0.587, 0.114)


def input_channels(input_mode: str) -> int:
    """Number of channels ``prepare`` produces for ``input_mode``."""
    _check_mode(input_mode)
    return 6 if input_mode == "diff_rgb" else 3


def window_length(input_mode: str, diff_step: int) -> int:
    """Frames needed around a frame to prepare it: 1 for ``rgb``, ``2 * diff_step + 1`` else."""
    _check_mode(input_mode)
    return 1 if input_mode == "rgb" else 2 * int(diff_step) + 1


def _check_mode(input_mode: str) -> None:
    if input_mode not in INPUT_MODES:
        raise ValueError(f"input_mode={input_mode!r}; expected one of {INPUT_MODES}.")


def _to_float_resized(
    frames: np.ndarray | torch.Tensor, size: int, device: torch.device | str | None
) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, size, size) in [0, 1] (antialiased bilinear resize)."""
    x = torch.as_tensor(np.ascontiguousarray(frames)) if isinstance(frames, np.ndarray) else frames
    if x.dtype != torch.uint8:
        raise TypeError(f"Expected uint8 frames, got {x.dtype}.")
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"Expected frames of shape (N, H, W, 3), got {tuple(x.shape)}.")
    x = x.to(device) if device is not None else x
    x = x.permute(0, 3, 1, 2).float().div_(255.0)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(
            x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    return x


def _grey(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, h, w) RGB in [0, 1] -> (N, h, w) luma."""
    return x[:, 0] * _GREY[0] + x[:, 1] * _GREY[1] + x[:, 2] * _GREY[2]


def _diff_channels(
    prev: torch.Tensor, cur: torch.Tensor, nxt: torch.Tensor, gain: float
) -> torch.Tensor:
    """Grey (N, h, w) x3 -> (N, 3, h, w) signed differences scaled by ``gain``."""
    return torch.stack([cur - prev, nxt - cur, nxt - prev], dim=1).mul_(gain)


def prepare_clip(
    clip: np.ndarray | torch.Tensor,
    *,
    input_mode: str = "diff",
    input_size: int = 64,
    diff_step: int = 1,
    diff_gain: float = 4.0,
    roi: str = "full",
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """uint8 clip (T, H, W, 3) -> float (T, C, s, s) for ``roi`` and ``input_mode`` (module doc)."""
    _check_mode(input_mode)
    clip = apply_roi(clip, roi, input_size)
    x = _to_float_resized(clip, input_size, device)
    rgb = (x - RGB_MEAN) / RGB_STD
    if input_mode == "rgb":
        return rgb
    g = _grey(x)
    t = torch.arange(g.shape[0], device=g.device)
    k = int(diff_step)
    last = g.shape[0] - 1
    diff = _diff_channels(g[(t - k).clamp(0, last)], g, g[(t + k).clamp(0, last)], diff_gain)
    return diff if input_mode == "diff" else torch.cat([diff, rgb], dim=1)


def apply_roi(clip: np.ndarray | torch.Tensor, roi: str, size: int) -> np.ndarray | torch.Tensor:
    """The clip as the encoder sees it: ``motion_crop`` to ``size`` for ``roi="motion"``, as is
    for ``"full"``."""
    if roi not in ROIS:
        raise ValueError(f"roi={roi!r}; expected one of {ROIS}.")
    if roi == "full":
        return clip
    frames = clip.cpu().numpy() if isinstance(clip, torch.Tensor) else np.asarray(clip)
    return motion_crop(frames, int(size))


def prepare_windows(
    windows: np.ndarray | torch.Tensor,
    *,
    input_mode: str = "diff",
    input_size: int = 64,
    diff_step: int = 1,
    diff_gain: float = 4.0,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Prepare the centre frame of each window (windows come from clips after ``apply_roi``).

    ``windows``: uint8 ``(N, L, H, W, 3)`` with ``L = window_length(input_mode, diff_step)``
    (for ``rgb`` also plain frames ``(N, H, W, 3)``). Returns float ``(N, C, s, s)``, equal to
    ``prepare_clip(clip, roi=roi)[t]`` when the window is ``apply_roi(clip)[t - k : t + k + 1]``.
    """
    _check_mode(input_mode)
    length = window_length(input_mode, diff_step)
    if input_mode == "rgb" and windows.ndim == 4:
        windows = windows[:, None]
    if windows.ndim != 5 or windows.shape[1] != length:
        raise ValueError(
            f"input_mode={input_mode!r} with diff_step={diff_step} needs windows of shape "
            f"(N, {length}, H, W, 3); got {tuple(windows.shape)}."
        )
    n, _, h, w, _ = windows.shape
    centre = length // 2
    if input_mode == "rgb":
        x = _to_float_resized(windows[:, centre], input_size, device)
        return (x - RGB_MEAN) / RGB_STD
    keep = windows[:, [0, centre, length - 1]].reshape(n * 3, h, w, 3)
    x = _to_float_resized(keep, input_size, device).view(n, 3, 3, input_size, input_size)
    g = _grey(x.flatten(0, 1)).view(n, 3, input_size, input_size)
    diff = _diff_channels(g[:, 0], g[:, 1], g[:, 2], diff_gain)
    if input_mode == "diff":
        return diff
    return torch.cat([diff, (x[:, 1] - RGB_MEAN) / RGB_STD], dim=1)


class FrameEncoder(nn.Module):
    """Maps prepared frames (B, C, H, W) float to features (B, dim).

    ``prepare`` turns a uint8 clip (T, H, W, 3) into the encoder's input tensor (T, C, h, w);
    ``config`` holds everything needed to rebuild the module before loading a state dict
    (``arch``: a torchvision ResNet name; ``input_mode`` / ``input_size`` / ``diff_step`` /
    ``diff_gain``: see the module doc; ``norm``: ``"scale"`` | ``"frozen"`` | ``"batch"``;
    ``pool``: ``"avg"`` | ``"max"`` spatial pooling of the last feature map; ``roi``:
    ``"motion"`` | ``"full"``; ``mirror``: mirror-averaged ``features``).
    ``forward`` is the raw backbone (what SimSiam trains); ``features`` / ``embed_clip`` give
    the normalised per-frame features used downstream.
    """

    def __init__(
        self,
        arch: str = "resnet18",
        input_mode: str = "diff",
        input_size: int = 64,
        *,
        diff_step: int = 1,
        diff_gain: float = 4.0,
        norm: str = "scale",
        pool: str = "avg",
        roi: str = "full",
        mirror: bool = False,
    ) -> None:
        super().__init__()
        _check_mode(input_mode)
        if roi not in ROIS:
            raise ValueError(f"roi={roi!r}; expected one of {ROIS}.")
        norm_layer = _norm_layer(norm)
        if pool not in POOLS:
            raise ValueError(f"pool={pool!r}; expected one of {POOLS}.")
        self.config: dict[str, Any] = {
            "arch": arch,
            "input_mode": input_mode,
            "input_size": int(input_size),
            "diff_step": int(diff_step),
            "diff_gain": float(diff_gain),
            "norm": norm,
            "pool": pool,
            "roi": roi,
            "mirror": bool(mirror),
        }
        # what the encoder was made from (``actionlab.lineage``), saved with it
        self.attrs: dict[str, Any] = {}
        backbone = getattr(torchvision.models, arch)(weights=None, norm_layer=norm_layer)
        channels = input_channels(input_mode)
        if channels != backbone.conv1.in_channels:
            old = backbone.conv1
            backbone.conv1 = nn.Conv2d(
                channels, old.out_channels, old.kernel_size, old.stride, old.padding, bias=False
            )
        self.dim: int = backbone.fc.in_features
        backbone.fc = nn.Identity()
        if pool == "max":
            backbone.avgpool = nn.AdaptiveMaxPool2d(1)
        self.backbone = backbone

    @property
    def input_mode(self) -> str:
        return self.config["input_mode"]

    def _prep_kwargs(self) -> dict[str, Any]:
        keys = ("input_mode", "input_size", "diff_step", "diff_gain")
        return {k: self.config[k] for k in keys}

    def prepare(self, clip: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
        """uint8 (T, H, W, 3) -> float (T, C, s, s): this encoder's roi and input mode."""
        return prepare_clip(clip, roi=self.config["roi"], device=device, **self._prep_kwargs())

    def prepare_windows(
        self, windows: np.ndarray, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """uint8 windows (N, L, H, W, 3) -> float (N, C, s, s) for the centre frames."""
        return prepare_windows(windows, device=device, **self._prep_kwargs())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Prepared frames (B, C, h, w) -> per-frame features (B, dim): L2-normalised backbone
        output, averaged with that of the mirrored frames when ``mirror`` (module doc)."""
        out = F.normalize(self.backbone(x), dim=1)
        if self.config["mirror"]:
            out = 0.5 * (out + F.normalize(self.backbone(x.flip(-1)), dim=1))
        return out

    @torch.no_grad()
    def embed_clip(self, clip: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Per-frame ``features`` (T, dim) float32 of a uint8 clip, on the encoder's device."""
        device = next(self.parameters()).device
        x = self.prepare(clip, device=device)
        out = [self.features(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)]
        return torch.cat(out).float().cpu().numpy()


class FrameFeatures(nn.Module):
    """``encoder.features`` as ``forward``: prepared frames (B, C, h, w) -> per-frame features
    (B, dim). What the encoder is exported as (``torch.export`` traces ``forward``), so the
    exported graph gives the features the embedding stage uses, without this package."""

    def __init__(self, encoder: FrameEncoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder.features(x)


def load_backbone_weights(encoder: FrameEncoder, weights_path: str | Path) -> None:
    """Load a local torchvision state dict (e.g. ``resnet18-*.pth``) into ``encoder.backbone``.

    ``fc.*`` is ignored. When the stem takes 6 channels (``diff_rgb``) the RGB filters are
    copied to the RGB channels and their grey sum (/3) to the difference channels.
    """
    path = Path(weights_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"ssl_training.weights_path={str(weights_path)!r}: no such file. Set the parameter "
            "`ssl_training.weights_path` to a local torchvision state dict, or to null for random init."
        )
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    state = {k.removeprefix("backbone."): v for k, v in state.items() if not k.startswith("fc.")}
    conv = state.get("conv1.weight")
    target = encoder.backbone.conv1.weight
    if (
        conv is not None
        and conv.shape != target.shape
        and conv.shape[1] == 3
        and target.shape[1] == 6
    ):
        grey = conv.sum(dim=1, keepdim=True).div(3.0).expand(-1, 3, -1, -1)
        state["conv1.weight"] = torch.cat([grey, conv], dim=1)
    missing, unexpected = encoder.backbone.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("fc.")]
    if missing or unexpected:
        raise ValueError(
            f"ssl_training.weights_path={str(weights_path)!r} does not match "
            f"{encoder.config['arch']}: missing {missing[:5]}, unexpected {unexpected[:5]}."
        )


class FixedNorm2d(nn.BatchNorm2d):
    """BatchNorm2d that always uses its stored statistics (identity unless loaded) and never updates them.

    Same parameters and buffers as ``nn.BatchNorm2d`` (torchvision state dicts load as is).
    ``shift=False`` freezes the bias at its value (0 at init), which keeps the block positively
    homogeneous: a zero input (a static clip in ``diff`` mode) gives exactly zero features.
    """

    def __init__(self, num_features: int, shift: bool = True) -> None:
        super().__init__(num_features)
        self.bias.requires_grad_(shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
        )


def _norm_layer(norm: str) -> Any:
    if norm == "batch":
        return nn.BatchNorm2d
    if norm == "frozen":
        return FixedNorm2d
    if norm == "scale":
        return partial(FixedNorm2d, shift=False)  # picklable (mlflow.pytorch saves the module)
    raise ValueError(f"norm={norm!r}; expected one of {NORMS}.")


def frame_encoder_state(encoder: FrameEncoder) -> dict[str, Any]:
    """Config + state dict (CPU tensors) + attrs (its lineage): what rebuilds the encoder,
    picklable for workers."""
    state = {k: v.detach().cpu() for k, v in encoder.state_dict().items()}
    return {"config": dict(encoder.config), "state_dict": state, "attrs": dict(encoder.attrs)}


def frame_encoder_from_state(blob: dict[str, Any]) -> FrameEncoder:
    """The encoder described by :func:`frame_encoder_state`, in eval mode."""
    encoder = FrameEncoder(**blob["config"])
    encoder.load_state_dict(blob["state_dict"])
    encoder.attrs = dict(blob.get("attrs") or {})  # files saved before attrs existed have none
    return encoder.eval()


def save_frame_encoder(encoder: FrameEncoder, path: str | Path) -> None:
    """Save config + state dict (CPU tensors) so ``load_frame_encoder`` can rebuild it."""
    torch.save(frame_encoder_state(encoder), str(path))


def load_frame_encoder(path: str | Path, map_location: str | torch.device = "cpu") -> FrameEncoder:
    """Load an encoder written by ``save_frame_encoder`` (``weights_only=True``), in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Frame encoder file {path} does not exist; run `kedro run --pipeline ssl_training` first."
        )
    return frame_encoder_from_state(torch.load(str(path), map_location=map_location, weights_only=True))
