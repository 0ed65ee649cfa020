"""``encode_many``: clips batched together give the same results as per-clip ``encode``, in
fewer forward passes."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from actionlab.encoders import build_encoder
from actionlab.encoders.base import Encoder, FrameModelEncoder, TorchEncoder
from actionlab.models import FrameEncoder
from tests.encoders.helpers import random_clip

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
    ),
]


@pytest.fixture(autouse=True)
def _exact_cuda() -> Iterator[None]:
    """No TF32 on CUDA, so per-clip and batched results compare at float32 precision."""
    cudnn, matmul = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = cudnn, matmul


class ForwardLog:
    """Records the batch size and device of every forward call of ``module``."""

    def __init__(self, module: nn.Module) -> None:
        self.calls: list[tuple[int, torch.device]] = []
        module.register_forward_hook(self._hook)

    def _hook(self, _module: nn.Module, args: tuple, kwargs_out: object) -> None:
        self.calls.append((int(args[0].shape[0]), args[0].device))

    def sizes(self) -> list[int]:
        return [size for size, _ in self.calls]


class KwargForwardLog(ForwardLog):
    """``ForwardLog`` for modules called with keyword arguments only (Hugging Face)."""

    def __init__(self, module: nn.Module) -> None:
        self.calls = []
        module.register_forward_hook(self._kw_hook, with_kwargs=True)

    def _kw_hook(self, _module: nn.Module, _args: tuple, kwargs: dict, _out: object) -> None:
        x = kwargs["pixel_values"]
        self.calls.append((int(x.shape[0]), x.device))


def assert_same_as_encode(
    enc: Encoder, clips: Sequence[np.ndarray], log: ForwardLog, atol: float = 1e-5
) -> tuple[list[int], list[int]]:
    """``encode_many(clips)`` equals ``[encode(c) for c in clips]``; return the forward batch
    sizes of (per-clip, batched)."""
    log.calls.clear()
    single = [enc.encode(clip) for clip in clips]
    per_clip = log.sizes()
    log.calls.clear()
    many = enc.encode_many(clips)
    batched = log.sizes()
    assert len(many) == len(clips)
    for (frames, emb), (ref_frames, ref_emb) in zip(many, single, strict=True):
        assert frames.dtype == np.float32 and emb.dtype == np.float32
        assert frames.shape == ref_frames.shape and emb.shape == ref_emb.shape
        np.testing.assert_allclose(frames, ref_frames, rtol=1e-4, atol=atol)
        np.testing.assert_allclose(emb, ref_emb, rtol=1e-4, atol=atol)
    assert {device.type for _, device in log.calls} == {torch.device(enc.device).type}
    assert sum(batched) == sum(per_clip)  # the same rows, in fewer and fuller batches
    return per_clip, batched


def randomise_batchnorm(model: nn.Module) -> None:
    """Non-trivial running statistics, so eval-mode BatchNorm really shifts and scales."""
    gen = torch.Generator().manual_seed(0)
    for layer in model.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            n = layer.num_features
            layer.running_mean.copy_(0.1 * torch.randn(n, generator=gen))
            layer.running_var.copy_(0.5 + torch.rand(n, generator=gen))


@pytest.mark.parametrize("device", DEVICES)
def test_ssl_frames_of_several_clips_share_batches(rng: np.random.Generator, device: str) -> None:
    torch.manual_seed(0)
    frame_encoder = FrameEncoder(input_size=32, norm="batch")
    randomise_batchnorm(frame_encoder)
    enc = build_encoder("ssl", {"batch_size": 4}, ssl_encoder=frame_encoder, device=device)
    log = ForwardLog(enc.model.backbone)
    clips = [random_clip(rng, n, size) for n, size in [(3, 40), (7, 32), (1, 48), (5, 40)]]
    per_clip, batched = assert_same_as_encode(enc, clips, log)
    assert per_clip == [3, 4, 3, 1, 4, 1]
    assert batched == [4, 4, 4, 4]  # 16 frames, chunks spanning the clips' boundaries
    assert enc.device == torch.device(device)
    short = [random_clip(rng, 2) for _ in range(5)]
    enc.config["batch_size"] = 64
    per_clip, batched = assert_same_as_encode(enc, short, log)
    assert len(per_clip) == 5 and batched == [10]


@pytest.mark.parametrize("device", DEVICES)
def test_torchvision_image_model(rng: np.random.Generator, device: str) -> None:
    torch.manual_seed(0)
    cfg = {
        "num_frames": 2,
        "batch_size": 5,
        "torchvision": {"model": "resnet18", "allow_random": True, "input_size": 32},
    }
    enc = build_encoder("torchvision", cfg, device=device)
    randomise_batchnorm(enc.model)
    log = ForwardLog(enc.model)
    clips = [random_clip(rng, 2, 32), random_clip(rng, 6, 48), random_clip(rng, 3, 40)]
    per_clip, batched = assert_same_as_encode(enc, clips, log)
    assert per_clip == [2, 5, 1, 3] and batched == [5, 5, 1]
    assert next(enc.model.parameters()).device.type == torch.device(device).type


@pytest.mark.parametrize("device", DEVICES)
def test_torchvision_video_model(rng: np.random.Generator, device: str) -> None:
    torch.manual_seed(0)
    cfg = {
        "num_frames": 2,
        "batch_size": 12,  # 3 windows of clip_len 4 per forward
        "torchvision": {"model": "r3d_18", "allow_random": True, "input_size": 32, "clip_len": 4},
    }
    enc = build_encoder("torchvision", cfg, device=device)
    randomise_batchnorm(enc.model)
    log = ForwardLog(enc.model)
    # windows + 2 streams: 6 frames -> 2 + 2; 4 -> 1 + 2; 9 -> 4 + 2; 3 -> 1 + 2
    clips = [random_clip(rng, n, 32) for n in (6, 4, 9, 3)]
    per_clip, batched = assert_same_as_encode(enc, clips, log)
    assert per_clip == [3, 1, 3, 3, 3, 3] and batched == [3, 3, 3, 3, 3, 1]
    for clip, (frames, emb) in zip(clips, enc.encode_many(clips), strict=True):
        np.testing.assert_allclose(enc.frame_features(clip), frames, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(enc.clip_embedding(clip), emb, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_hf_videomae(tmp_path: Path, rng: np.random.Generator, device: str) -> None:
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    torch.manual_seed(0)
    config = transformers.VideoMAEConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=32,
        patch_size=16,
        num_frames=4,
        tubelet_size=2,
    )
    transformers.VideoMAEModel(config).eval().save_pretrained(str(tmp_path / "videomae"))
    cfg = {"num_frames": 4, "batch_size": 64, "hf": {"path": str(tmp_path / "videomae")}}
    enc = build_encoder("hf", cfg, device=device)
    log = KwargForwardLog(enc.model)
    # windows + 2 streams: 5 frames -> 2 + 2; 2 -> 1 + 2; 9 -> 4 + 2
    clips = [random_clip(rng, 5, 40), random_clip(rng, 2, 32), random_clip(rng, 9, 48)]
    per_clip, batched = assert_same_as_encode(enc, clips, log)
    assert per_clip == [4, 3, 6] and batched == [13]
    frames, emb = enc.encode_many(clips)[2]
    assert frames.shape == (4, 32) and emb.shape == (64,)


class _GlobalConv(FrameModelEncoder):
    """A per-frame conv + global average pool that keeps each clip's own frame size."""

    name = "globalconv"

    def __init__(self, device: str) -> None:
        super().__init__({"batch_size": 4, "num_frames": 2, "pooling": "max"}, device)
        self.attach(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1)))

    def prepare(self, clip: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(clip).permute(0, 3, 1, 2).float().div(255.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def test_frames_of_different_sizes_batch_by_size(rng: np.random.Generator) -> None:
    torch.manual_seed(0)
    enc = _GlobalConv("cpu")
    log = ForwardLog(enc.model)
    clips = [random_clip(rng, 3, 16), random_clip(rng, 2, 24), random_clip(rng, 3, 16)]
    per_clip, batched = assert_same_as_encode(enc, clips, log)
    assert per_clip == [3, 2, 3] and batched == [4, 2, 2]  # 16 x 16: 6 frames; 24 x 24: 2
    assert [frames.shape for frames, _ in enc.encode_many(clips)] == [(3, 8), (2, 8), (3, 8)]


def test_empty_and_default_encode_many(rng: np.random.Generator) -> None:
    torch.manual_seed(0)
    enc = _GlobalConv("cpu")
    assert enc.encode_many([]) == []
    motion = build_encoder("motion", {"num_frames": 2})
    assert not isinstance(motion, TorchEncoder)
    clips = [random_clip(rng, 4, 32), random_clip(rng, 3, 32)]
    for (frames, emb), clip in zip(motion.encode_many(clips), clips, strict=True):
        ref_frames, ref_emb = motion.encode(clip)
        np.testing.assert_array_equal(frames, ref_frames)
        np.testing.assert_array_equal(emb, ref_emb)
    with pytest.raises(ValueError, match="uint8"):
        enc.encode_many([clips[0], clips[1].astype(np.float32)])
