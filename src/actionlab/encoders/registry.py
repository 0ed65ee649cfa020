"""``build_encoder``: one entry point from the ``embedding`` parameter group to an Encoder.

Names: ``ssl`` (the trained FrameEncoder, passed in as ``ssl_encoder``), ``motion``
(weight-free optical flow), ``torchvision`` (local torchvision weights), ``hf`` (local
Hugging Face video transformer).

``embedding`` keys and their defaults: ``actionlab.encoders.base.DEFAULT_CONFIG``; each is
explained in the project's ``conf/base/parameters_embedding.yml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actionlab.encoders.base import Encoder, merge_config
from actionlab.models import FrameEncoder
from actionlab.runtime import set_threads

ENCODER_NAMES = ("ssl", "motion", "torchvision", "hf")


def build_encoder(
    name: str,
    config: Mapping[str, Any] | None = None,
    *,
    ssl_encoder: FrameEncoder | None = None,
    device: str = "auto",
) -> Encoder:
    """Build the encoder ``name`` from the ``embedding`` parameter group ``config``."""
    if name not in ENCODER_NAMES:
        raise ValueError(f"Unknown encoder {name!r}; expected one of {list(ENCODER_NAMES)}.")
    cfg = merge_config(config)
    set_threads(cfg.get("num_threads"))
    if name == "ssl":
        if ssl_encoder is None:
            raise ValueError(
                "Encoder 'ssl' needs the trained FrameEncoder: pass ssl_encoder=load_frame_encoder(path)."
            )
        from actionlab.encoders.ssl import SSLEncoder

        return SSLEncoder(ssl_encoder, cfg, device)
    if name == "motion":
        from actionlab.encoders.motion import MotionEncoder

        return MotionEncoder(cfg)
    if name == "torchvision":
        from actionlab.encoders.torchvision_models import build_torchvision_encoder

        return build_torchvision_encoder(cfg, device)
    from actionlab.encoders.hf import build_hf_encoder

    return build_hf_encoder(cfg, device)
