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
    config = {"batch_size": 4, "pooling": "max"}
    enc = build_encoder("ssl", config, ssl_encoder=frame_encoder, device="cpu")
    clip = random_clip(rng, 10, 40)
    frames, emb = enc.encode(clip)
    assert frames.shape == (10, 512) and frames.dtype == np.float32
    assert emb.shape == (1024,) and emb.dtype == np.float32
    assert not frame_encoder.training
    with torch.inference_mode():
        raw = frame_encoder(frame_encoder.prepare(clip))
        expected = torch.nn.functional.normalize(raw, dim=1).numpy()
    np.testing.assert_allclose(frames, expected, rtol=1e-4, atol=1e-5)  # batching is invisible
    np.testing.assert_allclose(np.linalg.norm(frames, axis=1), 1.0, rtol=1e-5)
    small, large = frames[1:9].max(0), frames[:8].max(0)  # centred 1..8; step 10 // 8 = 1
    np.testing.assert_allclose(emb, np.concatenate([small, large]), rtol=1e-6)
    assert enc.clip_embedding(clip).shape == (1024,)
    enc.config["streams"] = "single"
    assert enc.clip_embedding(clip).shape == (512,)
    enc.config["pooling"] = "meanstd"
    np.testing.assert_allclose(
        enc.clip_embedding(clip), np.concatenate([frames[:8].mean(0), frames[:8].std(0)]), rtol=1e-5
    )


def test_mirror_features_ignore_left_and_right(rng: np.random.Generator) -> None:
    torch.manual_seed(0)
    mirrored = FrameEncoder(input_size=32, mirror=True).eval()
    plain = FrameEncoder(input_size=32, mirror=False).eval()
    plain.load_state_dict(mirrored.state_dict())
    clip = random_clip(rng, 6, 32)
    flipped = np.ascontiguousarray(clip[:, :, ::-1])
    np.testing.assert_allclose(
        mirrored.embed_clip(clip), mirrored.embed_clip(flipped), rtol=1e-4, atol=1e-5
    )
    left, right = plain.embed_clip(clip), plain.embed_clip(flipped)
    assert np.abs(left - right).max() > 1e-3  # without mirror the two differ
    np.testing.assert_allclose(mirrored.embed_clip(clip), (left + right) / 2, rtol=1e-4, atol=1e-5)


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
