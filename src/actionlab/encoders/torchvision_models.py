"""Torchvision backbones as encoders (weights from a local state-dict file, never downloaded).

* image models (``torchvision.models``: resnet18, resnet50, efficientnet_b0, convnext_tiny,
  vit_b_16, ...) run on every frame with the classification head replaced by Identity ->
  per-frame features (T, D); clip embedding = two-stream pooling of the frames.
* video models (``torchvision.models.video``: r2plus1d_18, r3d_18, mc3_18, s3d, mvit_v2_s,
  swin3d_t, ...) run on clips of ``clip_len`` frames, head removed -> per-window features
  (W, D) and a two-stream clip embedding (see ``ClipModelEncoder``).

Preprocessing comes from the architecture's weights enum (``<Weights>.DEFAULT.transforms()``
and ``.meta``; reading them downloads nothing): mean/std, interpolation, crop size and the
resize size (applied to the shorter side, keeping the aspect ratio - Kinetics' 128x171 is
shorter side 128 for 4:3 video), and for video models the clip length documented for the
weights (``clip_len=...`` in ``meta["_docs"]``, else ``meta["min_temporal_size"]``).
``input_size`` overrides the crop size (the resize scales with it); ``clip_len`` overrides
the clip length. ``encode_many`` batches the frames (windows) of several clips together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision
from torch import nn
from torchvision.transforms.v2 import functional as TF

from actionlab.encoders.base import (
    ClipModelEncoder,
    FrameModelEncoder,
    TorchEncoder,
    merge_config,
)


def image_model_names() -> list[str]:
    """Torchvision image-classification architectures."""
    return sorted(torchvision.models.list_models(module=torchvision.models))


def video_model_names() -> list[str]:
    """Torchvision video-classification architectures."""
    return sorted(torchvision.models.list_models(module=torchvision.models.video))


def strip_head(model: nn.Module) -> nn.Module:
    """Replace the final classification layer by Identity (in place) and return the model.

    Looks at ``fc``, ``heads``, ``head`` and ``classifier``; inside a Sequential head only the
    last Linear/Conv layer is replaced (so pooling/normalisation before it is kept).
    """
    for attr in ("fc", "heads", "head", "classifier"):
        head = getattr(model, attr, None)
        if isinstance(head, (nn.Linear, nn.Conv2d, nn.Conv3d)):
            setattr(model, attr, nn.Identity())
            return model
        if isinstance(head, nn.Sequential):
            for idx in reversed(range(len(head))):
                if isinstance(head[idx], (nn.Linear, nn.Conv2d, nn.Conv3d)):
                    head[idx] = nn.Identity()
                    return model
    raise ValueError(f"Don't know how to remove the classification head of {type(model).__name__}.")


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a state dict saved with ``torch.save`` (``weights_only=True``; ``{'state_dict': ...}`` unwrapped)."""
    blob = torch.load(str(path), map_location="cpu", weights_only=True)
    if (
        isinstance(blob, Mapping)
        and "state_dict" in blob
        and isinstance(blob["state_dict"], Mapping)
    ):
        blob = blob["state_dict"]
    return dict(blob)


def build_backbone(tv_cfg: Mapping[str, Any]) -> tuple[nn.Module, Any, bool]:
    """Build ``tv_cfg['model']`` (weights loaded, head removed); return (model, weights enum, is_video)."""
    name = str(tv_cfg["model"])
    images, videos = image_model_names(), video_model_names()
    if name not in images and name not in videos:
        raise ValueError(
            f"embedding.torchvision.model={name!r} is not a torchvision image or video classification "
            f"model; video models: {videos}; image models: {images}."
        )
    weights_path = tv_cfg.get("weights_path")
    if weights_path:
        if not Path(weights_path).is_file():
            raise FileNotFoundError(
                f"embedding.torchvision.weights_path={str(weights_path)!r} does not exist; put the "
                f"{name} state-dict file there (pretrained weights are never downloaded)."
            )
    elif not tv_cfg.get("allow_random"):
        raise FileNotFoundError(
            f"embedding.torchvision.weights_path is not set; point it to a local {name} state-dict "
            "file (embedding.torchvision.allow_random=true gives random weights, for tests only)."
        )
    model = torchvision.models.get_model(name, weights=None)
    if weights_path:
        model.load_state_dict(load_state_dict_file(weights_path))
    strip_head(model)
    return model, torchvision.models.get_model_weights(name).DEFAULT, name in videos


class _Preprocess:
    """Resize (shorter side) + centre crop + normalise, parameters read from a weights enum."""

    def __init__(self, weights: Any, input_size: int | None) -> None:
        tf = weights.transforms()
        crop = [int(s) for s in tf.crop_size]
        crop = crop * 2 if len(crop) == 1 else crop
        resize = min(int(s) for s in tf.resize_size)
        if input_size:
            scale = int(input_size) / min(crop)
            crop = [int(input_size), int(input_size)]
            resize = max(int(input_size), round(resize * scale))
        self.crop, self.resize = crop, resize
        self.interpolation = tf.interpolation
        self.mean = torch.tensor(tf.mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(tf.std, dtype=torch.float32).view(1, 3, 1, 1)

    def __call__(self, clip: np.ndarray, device: torch.device) -> torch.Tensor:
        """uint8 (T, H, W, 3) -> float (T, 3, crop_h, crop_w) on ``device``."""
        x = (
            torch.from_numpy(np.ascontiguousarray(clip))
            .to(device)
            .permute(0, 3, 1, 2)
            .float()
            .div_(255.0)
        )
        if min(x.shape[-2:]) != self.resize:
            x = TF.resize(x, [self.resize], interpolation=self.interpolation, antialias=True)
        x = TF.center_crop(x, self.crop)
        return (x - self.mean.to(device)) / self.std.to(device)


def weights_clip_len(weights: Any) -> int:
    """Clip length the video weights were evaluated with (``clip_len=N`` in their docs)."""
    found = re.search(r"clip_len=(\d+)", str(weights.meta.get("_docs", "")))
    if found:
        return int(found.group(1))
    return int(weights.meta.get("min_temporal_size", 16))


class _TorchvisionEncoder(TorchEncoder):
    """A torchvision backbone with its weights' own preprocessing (resize, crop, normalise)."""

    name = "torchvision"

    def __init__(
        self,
        model: nn.Module,
        weights: Any,
        config: Mapping[str, Any] | None = None,
        device: str = "auto",
    ) -> None:
        super().__init__(config, device)
        self.attach(model)
        self.weights = weights
        self.preprocess = _Preprocess(weights, self.config["torchvision"].get("input_size"))

    def prepare(self, clip: np.ndarray) -> torch.Tensor:
        return self.preprocess(clip, self.device)


class TorchvisionImageEncoder(_TorchvisionEncoder, FrameModelEncoder):
    """A torchvision image backbone applied per frame."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class TorchvisionVideoEncoder(_TorchvisionEncoder, ClipModelEncoder):
    """A torchvision video backbone applied to sliding windows and to the two streams."""

    @cached_property
    def clip_len(self) -> int:  # type: ignore[override]
        """``torchvision.clip_len``, else the clip length the weights were trained with."""
        return int(self.config["torchvision"].get("clip_len") or weights_clip_len(self.weights))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.permute(0, 2, 1, 3, 4))


def build_torchvision_encoder(
    config: Mapping[str, Any] | None = None, device: str = "auto"
) -> TorchvisionImageEncoder | TorchvisionVideoEncoder:
    """Encoder for ``config['torchvision']`` (see the module docstring)."""
    merged = merge_config(config)
    model, weights, is_video = build_backbone(merged["torchvision"])
    cls = TorchvisionVideoEncoder if is_video else TorchvisionImageEncoder
    return cls(model, weights, merged, device)
