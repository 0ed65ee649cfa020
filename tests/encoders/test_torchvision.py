from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from actionlab.encoders import build_encoder
from actionlab.encoders.torchvision_models import (
    TorchvisionImageEncoder,
    TorchvisionVideoEncoder,
    _Preprocess,
    strip_head,
    weights_clip_len,
)
from tests.encoders.helpers import random_clip


def tv_config(model: str, **extra: object) -> dict:
    return {"num_frames": 2, "torchvision": {"model": model, "allow_random": True, **extra}}


def test_image_model_per_frame(rng: np.random.Generator) -> None:
    torch.manual_seed(0)
    enc = build_encoder("torchvision", tv_config("resnet18", input_size=32), device="cpu")
    assert isinstance(enc, TorchvisionImageEncoder)
    clip = random_clip(rng, 2, 32)
    frames, emb = enc.encode(clip)
    assert frames.shape == (2, 512) and emb.shape == (2048,)  # default pooling: meanstd
    assert frames.dtype == np.float32 and emb.dtype == np.float32
    stream = np.concatenate([frames.mean(0), frames.std(0)])
    np.testing.assert_allclose(emb, np.concatenate([stream, stream]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(enc.frame_features(clip), frames, rtol=1e-5, atol=1e-6)
    enc.config["streams"] = "single"
    assert enc.clip_embedding(clip).shape == (1024,)


def test_video_model_windows_and_streams(rng: np.random.Generator) -> None:
    torch.manual_seed(0)
    cfg = tv_config("r3d_18", input_size=32, clip_len=4)
    enc = build_encoder("torchvision", cfg, device="cpu")
    assert isinstance(enc, TorchvisionVideoEncoder) and enc.clip_len == 4
    clip = random_clip(rng, 6, 32)
    frames, emb = enc.encode(clip)
    assert frames.shape == (2, 512)  # windows starting at 0 and 2
    assert emb.shape == (1024,)
    np.testing.assert_allclose(enc.frame_features(clip), frames, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(enc.clip_embedding(clip), emb, rtol=1e-4, atol=1e-5)
    short = random_clip(rng, 4, 32)
    assert enc.frame_features(short).shape == (1, 512)


def test_weights_path_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    torch.manual_seed(1)
    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pt"
    torch.save(reference.state_dict(), path)
    wrapped = tmp_path / "wrapped.pt"
    torch.save({"state_dict": reference.state_dict()}, wrapped)
    clip = random_clip(rng, 3, 32)
    feats = []
    for file in (path, wrapped):
        cfg = {"torchvision": {"model": "resnet18", "weights_path": str(file), "input_size": 32}}
        enc = build_encoder("torchvision", cfg, device="cpu")
        feats.append(enc.frame_features(clip))
    np.testing.assert_array_equal(feats[0], feats[1])
    head_free = strip_head(reference).eval()
    with torch.inference_mode():
        expected = head_free(enc.prepare(clip)).numpy()
    np.testing.assert_allclose(feats[0], expected, rtol=1e-5, atol=1e-6)


def test_missing_weights_name_the_parameter(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pt"
    cfg = {"torchvision": {"model": "resnet18", "weights_path": str(missing)}}
    with pytest.raises(FileNotFoundError, match="embedding.torchvision.weights_path") as err:
        build_encoder("torchvision", cfg)
    assert str(missing) in str(err.value)
    with pytest.raises(FileNotFoundError, match="embedding.torchvision.weights_path"):
        build_encoder("torchvision", {"torchvision": {"model": "resnet18"}})
    with pytest.raises(ValueError, match="r2plus1d_18"):
        build_encoder(
            "torchvision", {"torchvision": {"model": "resnet_9000", "allow_random": True}}
        )


def test_preprocessing_comes_from_weights_metadata() -> None:
    weights = torchvision.models.video.R2Plus1D_18_Weights.KINETICS400_V1
    tf = weights.transforms()
    prep = _Preprocess(weights, None)
    np.testing.assert_allclose(prep.mean.flatten().numpy(), tf.mean)
    np.testing.assert_allclose(prep.std.flatten().numpy(), tf.std)
    assert prep.crop == list(tf.crop_size) and prep.resize == min(tf.resize_size)
    assert weights_clip_len(weights) == 16
    image = _Preprocess(torchvision.models.ResNet18_Weights.IMAGENET1K_V1, 128)
    assert image.crop == [128, 128] and image.resize == round(256 * 128 / 224)
    out = image(np.zeros((2, 150, 200, 3), np.uint8), torch.device("cpu"))
    assert out.shape == (2, 3, 128, 128)
