"""Clip classifiers trained end to end on frames (no kedro): ``cnn_lstm`` and ``cnn3d``.

Both take one input contract, the one ``actionlab.models.clip_data.ClipDataset`` yields:
float clips ``(B, T, 3, H, W)`` with values in [0, 1], and return logits ``(B, classes)``.
Each model normalises with the mean/std documented for the torchvision weights of its
backbone (read from the weights enum's ``transforms()``, which downloads nothing) and
rearranges the clip for its backbone, so a stored model needs nothing but [0, 1] frames.

* ``cnn_lstm``: a torchvision ResNet-18 on every frame (512-d features, head removed), an LSTM
  (uni- or bidirectional) over the frame features and a linear head on its last hidden state
  (``pooling="last"``: for a bidirectional LSTM the forward and backward final states) or on
  its outputs averaged over time (``pooling="mean"``). ImageNet mean/std.
* ``cnn3d``: a torchvision video ResNet (``r2plus1d_18``, ``r3d_18``, ``mc3_18``) on the clip as
  ``(B, 3, T, H, W)``, its ``fc`` replaced by a head for the classes. Kinetics-400 mean/std.

``input_mode``: ``rgb`` (the normalised frames) or ``diff`` (the differences of consecutive
normalised frames, ``T - 1`` of them: the motion only, a static background cancels out).

Backbones start from random weights, or from a local torchvision state-dict file
(``weights_path``: ``torch.save(model.state_dict(), path)`` of the same architecture; its
``fc.*`` keys are ignored). Nothing is ever downloaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

CLIP_MODELS = ("cnn_lstm", "cnn3d")
CNN3D_ARCHS = ("r2plus1d_18", "r3d_18", "mc3_18")
LSTM_POOLING = ("last", "mean")
CLIP_INPUT_MODES = ("rgb", "diff")


def _check_input_mode(input_mode: str) -> str:
    if input_mode not in CLIP_INPUT_MODES:
        raise ValueError(f"input_mode={input_mode!r}: expected one of {CLIP_INPUT_MODES}.")
    return input_mode


def _prepare(module: nn.Module, clips: torch.Tensor) -> torch.Tensor:
    """``(B, T, 3, H, W)`` in [0, 1] -> normalised frames (``rgb``) or their ``T - 1``
    consecutive differences (``diff``)."""
    x = (clips - module.mean.view(1, 1, 3, 1, 1)) / module.std.view(1, 1, 3, 1, 1)
    if module.input_mode == "rgb":
        return x
    if x.shape[1] < 2:
        raise ValueError("input_mode='diff' needs at least 2 frames per clip (frames_per_clip >= 2).")
    return x[:, 1:] - x[:, :-1]


def _norm_buffers(module: nn.Module, arch: str) -> None:
    """Register ``mean`` / ``std`` (3,) from the documented preprocessing of ``arch``'s weights."""
    preset = torchvision.models.get_model_weights(arch).DEFAULT.transforms()
    module.register_buffer("mean", torch.tensor(preset.mean, dtype=torch.float32))
    module.register_buffer("std", torch.tensor(preset.std, dtype=torch.float32))


def load_backbone_state(
    backbone: nn.Module, weights_path: str | Path, *, arch: str, param: str = "weights_path"
) -> None:
    """Load a local torchvision state dict of ``arch`` into ``backbone`` (whose ``fc`` is removed).

    ``{"state_dict": ...}`` is unwrapped and ``fc.*`` keys are dropped; any other mismatch
    raises. ``param`` names the setting in the messages (e.g. ``classification.cnn3d.weights_path``).
    """
    path = Path(weights_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{param}={str(weights_path)!r}: no such file. Set `{param}` to a local torchvision "
            f"{arch} state dict (torch.save(model.state_dict(), path)), or to null for random "
            "initial weights; nothing is downloaded."
        )
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    own = backbone.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    resized = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or resized:
        raise ValueError(
            f"{param}={str(weights_path)!r} is not a torchvision {arch} state dict: "
            f"missing {missing[:5]}, unexpected {unexpected[:5]}, other shapes {resized[:5]}."
        )
    backbone.load_state_dict(state)


def _headless(arch: str, weights_path: str | Path | None, param: str) -> tuple[nn.Module, int]:
    """``arch`` with random weights (or ``weights_path``), ``fc`` removed; and its feature size."""
    backbone = torchvision.models.get_model(arch, weights=None)
    features = int(backbone.fc.in_features)
    backbone.fc = nn.Identity()
    if weights_path:
        load_backbone_state(backbone, weights_path, arch=arch, param=param)
    return backbone, features


class CnnLstm(nn.Module):
    """ResNet-18 frame encoder + LSTM + linear head; ``(B, T, 3, H, W)`` in [0, 1] -> logits."""

    arch = "resnet18"

    def __init__(
        self,
        num_classes: int,
        *,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = False,
        pooling: str = "last",
        dropout: float = 0.0,
        input_mode: str = "rgb",
        weights_path: str | Path | None = None,
        weights_param: str = "weights_path",
    ) -> None:
        super().__init__()
        self.input_mode = _check_input_mode(input_mode)
        if pooling not in LSTM_POOLING:
            raise ValueError(f"pooling={pooling!r}: expected one of {LSTM_POOLING}.")
        self.pooling = pooling
        self.bidirectional = bool(bidirectional)
        self.encoder, features = _headless(self.arch, weights_path, weights_param)
        self.lstm = nn.LSTM(
            features,
            int(hidden_size),
            num_layers=int(num_layers),
            batch_first=True,
            bidirectional=self.bidirectional,
            dropout=float(dropout) if num_layers > 1 else 0.0,
        )
        width = int(hidden_size) * (2 if self.bidirectional else 1)
        self.head = nn.Sequential(nn.Dropout(float(dropout)), nn.Linear(width, int(num_classes)))
        _norm_buffers(self, self.arch)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        x = _prepare(self, clips)
        b, t = x.shape[:2]
        features = self.encoder(x.flatten(0, 1)).view(b, t, -1)
        out, (hidden, _) = self.lstm(features)
        if self.pooling == "mean":
            pooled = out.mean(dim=1)
        elif self.bidirectional:
            pooled = torch.cat([hidden[-2], hidden[-1]], dim=1)  # last layer: forward, backward
        else:
            pooled = hidden[-1]
        return self.head(pooled)


class Cnn3d(nn.Module):
    """Torchvision video ResNet + linear head; ``(B, T, 3, H, W)`` in [0, 1] -> logits."""

    def __init__(
        self,
        num_classes: int,
        *,
        arch: str = "r2plus1d_18",
        dropout: float = 0.0,
        input_mode: str = "rgb",
        weights_path: str | Path | None = None,
        weights_param: str = "weights_path",
    ) -> None:
        super().__init__()
        self.input_mode = _check_input_mode(input_mode)
        if arch not in CNN3D_ARCHS:
            raise ValueError(f"arch={arch!r}: expected one of {CNN3D_ARCHS}.")
        self.arch = arch
        self.backbone, features = _headless(arch, weights_path, weights_param)
        self.head = nn.Sequential(nn.Dropout(float(dropout)), nn.Linear(features, int(num_classes)))
        _norm_buffers(self, arch)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        x = _prepare(self, clips)
        return self.head(self.backbone(x.permute(0, 2, 1, 3, 4)))  # -> (B, 3, T, H, W)


def build_clip_model(name: str, num_classes: int, **options: Any) -> nn.Module:
    """``cnn_lstm`` or ``cnn3d`` for ``num_classes``; ``options`` are the model's keywords."""
    if name == "cnn_lstm":
        return CnnLstm(num_classes, **options)
    if name == "cnn3d":
        return Cnn3d(num_classes, **options)
    raise ValueError(f"Unknown clip model {name!r}; expected one of {CLIP_MODELS}.")


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
