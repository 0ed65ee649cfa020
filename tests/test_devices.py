"""Device handling: `auto` picks CUDA when present, and torch code gives the same answers there.

The CUDA cases run on a machine with a GPU (they are skipped, with the reason, on CPU-only CI)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from actionlab.encoders import build_encoder
from actionlab.models import FrameEncoder
from actionlab.models.ssl_train import sample_windows, train_simsiam
from actionlab.runtime import resolve_device

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
TINY = {"input_size": 32, "proj_dim": 64, "pred_hidden": 32, "epochs": 2, "batch_size": 16, "frames_per_clip": 8}


def _clips(n: int = 4, t: int = 10, size: int = 48) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (t, size, size, 3), dtype=np.uint8) for _ in range(n)]


def test_auto_picks_cuda_exactly_when_available():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_asking_for_cuda_without_it_names_the_fix():
    with pytest.raises(ValueError, match="'auto' or 'cpu'"):
        resolve_device("cuda")


@cuda
def test_frame_encoder_gives_the_same_features_on_cuda_and_cpu():
    encoder = FrameEncoder(input_size=32).eval()
    clip = _clips(1)[0]
    with torch.inference_mode():
        on_cpu = encoder(encoder.prepare(clip))
        on_gpu = encoder.to("cuda")(encoder.prepare(clip).to("cuda")).cpu()
    torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-3, atol=1e-3)


@cuda
def test_ssl_training_runs_on_cuda_and_returns_a_cpu_encoder():
    windows = sample_windows(_clips(), TINY, seed=0)
    encoder, history = train_simsiam(windows, config=TINY, device="cuda", seed=0, progress=False)
    assert next(encoder.parameters()).device.type == "cpu"
    assert len(history) == 2 and np.isfinite(history["loss"]).all()


@cuda
@pytest.mark.parametrize("name", ["ssl", "torchvision"])
def test_encoders_agree_between_cuda_and_cpu(name):
    clip = _clips(1, t=12, size=64)[0]
    config = {"torchvision": {"model": "resnet18", "allow_random": True, "input_size": 64}}
    torch.manual_seed(0)
    ssl = FrameEncoder(input_size=32) if name == "ssl" else None
    state = None if ssl is None else {k: v.clone() for k, v in ssl.state_dict().items()}
    torch.manual_seed(0)
    cpu = build_encoder(name, config, ssl_encoder=ssl, device="cpu")
    _, cpu_embedding = cpu.encode(clip)
    torch.manual_seed(0)
    if ssl is not None:
        ssl = FrameEncoder(input_size=32)
        ssl.load_state_dict(state)
    gpu = build_encoder(name, config, ssl_encoder=ssl, device="cuda")
    _, gpu_embedding = gpu.encode(clip)
    np.testing.assert_allclose(gpu_embedding, cpu_embedding, rtol=2e-3, atol=2e-3)
