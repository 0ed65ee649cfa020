"""``build_encoder``: one entry point from the ``embedding`` parameter group to an Encoder.

Names: ``ssl`` (the trained FrameEncoder, passed in as ``ssl_encoder``), ``motion``
(weight-free optical flow), ``torchvision`` (local torchvision weights), ``hf`` (local
Hugging Face video transformer).

``embedding`` keys (defaults in ``actionlab.encoders.base.DEFAULT_CONFIG``)::

    num_frames: 8          # frames per stream (two-stream clip embedding)
    small_step: 1          # step of the centred small stream
    pooling: max           # max | mean (frame models' stream pooling)
    streams: two           # two: concat(small, large) | single: large only
    batch_size: 64         # frames per forward pass (clip models: batch_size // clip_len clips)
    num_threads: null      # torch (and OpenCV for motion) threads; null/0 = library default
    motion:                # Farneback flow + orientation histograms + MHI Hu moments
      grid: 3              # grid x grid spatial cells
      bins: 8              # orientation bins: 0 = rightward, 2 = downward, 4 = leftward, 6 = upward
      pyr_scale: 0.5       # cv2.calcOpticalFlowFarneback arguments
      levels: 3
      winsize: 15
      iterations: 3
      poly_n: 5
      poly_sigma: 1.2
      mhi_threshold: 1.0   # flow magnitude (px/frame) that marks a pixel as moving in the MHI
    torchvision:
      model: resnet18      # image: resnet18, resnet50, ...; video: r2plus1d_18, r3d_18, mc3_18, s3d, mvit_v2_s, swin3d_t
      weights_path: null   # local state-dict file (required unless allow_random)
      allow_random: false  # random weights - tests only
      input_size: null     # null = the weights' crop size (224 image, 112/224 video)
      clip_len: null       # video models; null = the weights' documented clip length
    hf:
      path: null           # local save_pretrained directory (config.json + weights [+ processor])
      num_frames: null     # null = the model config's num_frames
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
