"""The self-supervised ``FrameEncoder`` (actionlab.models) as an encoder.

Per-frame features are ``FrameEncoder.features`` (its own ``prepare``: region of interest and
input mode; normalised, mirror-averaged; batched, eval mode, ``torch.inference_mode``); the
clip embedding is the two-stream pooling of those features; ``encode_many`` runs the frames of
several clips in shared batches of ``batch_size``. The module is moved to the
requested device and put in eval mode in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from actionlab.encoders.base import FrameModelEncoder
from actionlab.models import FrameEncoder


class SSLEncoder(FrameModelEncoder):
    """Per-frame ``FrameEncoder`` features + two-stream pooled clip embedding."""

    name = "ssl"

    def __init__(
        self,
        frame_encoder: FrameEncoder,
        config: Mapping[str, Any] | None = None,
        device: str = "auto",
    ) -> None:
        super().__init__(config, device)
        self.attach(frame_encoder)

    @property
    def dim(self) -> int:
        """Per-frame feature size."""
        return int(self.model.dim)

    def prepare(self, clip: np.ndarray) -> torch.Tensor:
        return self.model.prepare(clip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.features(x)
