from __future__ import annotations

import numpy as np
import pytest
import torch

from actionlab.encoders import ENCODER_NAMES, build_encoder
from actionlab.models import FrameEncoder
from tests.encoders.helpers import random_clip


def test_ssl_encoder_features_and_two_stream_embedding(rng: np.random.Generator) -> None:
    torch.manual_seed(0)
    frame_encoder = FrameEncoder(input_size=32)
    enc = build_encoder("ssl", {"batch_size": 4}, ssl_encoder=frame_encoder, device="cpu")
    clip = random_clip(rng, 10, 40)
    frames, emb = enc.encode(clip)
    assert frames.shape == (10, 512) and frames.dtype == np.float32
    assert emb.shape == (1024,) and emb.dtype == np.float32
    assert not frame_encoder.training
    with torch.inference_mode():
        expected = frame_encoder(frame_encoder.prepare(clip)).numpy()
    np.testing.assert_allclose(frames, expected, rtol=1e-4, atol=1e-5)  # batching is invisible
    small, large = frames[1:9].max(0), frames[:8].max(0)  # centred 1..8; step 10 // 8 = 1
    np.testing.assert_allclose(emb, np.concatenate([small, large]), rtol=1e-6)
    assert enc.clip_embedding(clip).shape == (1024,)
    enc.config["streams"] = "single"
    assert enc.clip_embedding(clip).shape == (512,)


def test_registry_errors() -> None:
    with pytest.raises(ValueError, match="'ssl', 'motion', 'torchvision', 'hf'"):
        build_encoder("sift", {})
    with pytest.raises(ValueError, match="ssl_encoder"):
        build_encoder("ssl", {})
    assert ENCODER_NAMES == ("ssl", "motion", "torchvision", "hf")


def test_explicit_cpu_device() -> None:
    enc = build_encoder("ssl", None, ssl_encoder=FrameEncoder(input_size=32), device="cpu")
    assert enc.device == torch.device("cpu")
    assert next(enc.model.parameters()).device == torch.device("cpu")
