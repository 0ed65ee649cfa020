"""The frame encoder: a ResNet backbone (no head) plus the input preparation it was trained with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision
from torch import nn

INPUT_MODES = ("rgb",)


class FrameEncoder(nn.Module):
    """Maps prepared frames (B, C, H, W) float to features (B, dim).

    ``prepare`` turns a uint8 clip (T, H, W, 3) into the encoder's input tensor (T, C, h, w);
    ``config`` holds everything needed to rebuild the module before loading a state dict.
    """

    def __init__(self, arch: str = "resnet18", input_mode: str = "rgb", input_size: int = 112) -> None:
        super().__init__()
        if input_mode not in INPUT_MODES:
            raise ValueError(f"input_mode={input_mode!r}; expected one of {INPUT_MODES}.")
        self.config: dict[str, Any] = {"arch": arch, "input_mode": input_mode, "input_size": input_size}
        backbone = getattr(torchvision.models, arch)(weights=None)
        self.dim = backbone.fc.in_features
        backbone.fc = nn.Identity()
        self.backbone = backbone

    def prepare(self, clip: np.ndarray) -> torch.Tensor:
        """uint8 (T, H, W, 3) -> float (T, 3, s, s) normalised to roughly zero mean, unit std."""
        x = torch.from_numpy(np.ascontiguousarray(clip)).permute(0, 3, 1, 2).float().div_(255.0)
        size = self.config["input_size"]
        if x.shape[-1] != size or x.shape[-2] != size:
            x = nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
        return (x - 0.45) / 0.225

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)


def save_frame_encoder(encoder: FrameEncoder, path: str | Path) -> None:
    """Save config + state dict (CPU tensors) so ``load_frame_encoder`` can rebuild it."""
    state = {k: v.detach().cpu() for k, v in encoder.state_dict().items()}
    torch.save({"config": encoder.config, "state_dict": state}, str(path))


def load_frame_encoder(path: str | Path, map_location: str | torch.device = "cpu") -> FrameEncoder:
    """Load an encoder written by ``save_frame_encoder`` (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Frame encoder file {path} does not exist; run `kedro run --pipeline ssl_training` first.")
    blob = torch.load(str(path), map_location=map_location, weights_only=True)
    encoder = FrameEncoder(**blob["config"])
    encoder.load_state_dict(blob["state_dict"])
    return encoder
