"""Clip encoders (SSL frame encoder, optical-flow motion, torchvision, Hugging Face); no kedro."""

from actionlab.encoders.base import DEFAULT_CONFIG, Encoder, merge_config
from actionlab.encoders.pooling import pool, two_stream_embedding, two_stream_indices
from actionlab.encoders.registry import ENCODER_NAMES, build_encoder

__all__ = [
    "DEFAULT_CONFIG",
    "ENCODER_NAMES",
    "Encoder",
    "build_encoder",
    "merge_config",
    "pool",
    "two_stream_embedding",
    "two_stream_indices",
]
