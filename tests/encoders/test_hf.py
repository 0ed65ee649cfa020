from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from actionlab.encoders import build_encoder
from actionlab.encoders.hf import HFVideoEncoder
from tests.encoders.helpers import random_clip

transformers = pytest.importorskip("transformers")
TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "image_size": 32,
    "patch_size": 16,
    "num_frames": 4,
}


@pytest.fixture(autouse=True)
def _quiet_transformers() -> None:
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    logging.getLogger("transformers").setLevel(logging.ERROR)


def save(model: torch.nn.Module, path: Path) -> Path:
    model.eval().save_pretrained(str(path))
    return path


def hf_encoder(path: Path, **extra: object) -> HFVideoEncoder:
    enc = build_encoder("hf", {"num_frames": 4, "hf": {"path": str(path)}, **extra}, device="cpu")
    assert isinstance(enc, HFVideoEncoder)
    return enc


def test_videomae_mean_pools_tokens(tmp_path: Path, rng: np.random.Generator) -> None:
    torch.manual_seed(0)
    config = transformers.VideoMAEConfig(**TINY, tubelet_size=2)
    model = transformers.VideoMAEModel(config)
    enc = hf_encoder(save(model, tmp_path / "videomae"))
    assert enc.model_type == "videomae" and enc.clip_len == 4 and enc.fc_norm is None
    same_size = random_clip(
        rng, 2, 32
    )  # no processor saved: config defaults (VideoMAE mean/std 0.5)
    expected_px = torch.from_numpy(same_size).permute(0, 3, 1, 2).float() / 255.0 * 2.0 - 1.0
    torch.testing.assert_close(enc.prepare(same_size), expected_px)
    clip = random_clip(rng, 6, 40)
    assert enc.prepare(clip).shape == (6, 3, 32, 32)
    frames, emb = enc.encode(clip)
    assert frames.shape == (2, 32) and emb.shape == (64,)
    x = enc.prepare(clip)[torch.as_tensor(enc.stream_indices(6))]
    with torch.inference_mode():
        expected = model(pixel_values=x).last_hidden_state.mean(1).reshape(-1).numpy()
    np.testing.assert_allclose(emb, expected, rtol=1e-4, atol=1e-5)


def test_videomae_classifier_checkpoint_uses_fc_norm(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    torch.manual_seed(0)
    config = transformers.VideoMAEConfig(
        **TINY, tubelet_size=2, use_mean_pooling=True, num_labels=3
    )
    model = transformers.VideoMAEForVideoClassification(config)
    with torch.no_grad():
        model.fc_norm.weight.mul_(2.0).add_(0.5)  # not the identity, so skipping it would show
    enc = hf_encoder(save(model, tmp_path / "videomae_cls"), streams="single")
    assert enc.fc_norm is not None
    clip = random_clip(rng, 4, 32)
    seen: list[torch.Tensor] = []
    model.classifier.register_forward_hook(lambda _m, inp, _out: seen.append(inp[0]))
    with torch.inference_mode():
        model(pixel_values=enc.prepare(clip)[None])
    np.testing.assert_allclose(enc.clip_embedding(clip), seen[0][0].numpy(), rtol=1e-4, atol=1e-5)


def test_timesformer_uses_cls_token(tmp_path: Path, rng: np.random.Generator) -> None:
    torch.manual_seed(0)
    model = transformers.TimesformerModel(transformers.TimesformerConfig(**TINY))
    enc = hf_encoder(save(model, tmp_path / "timesformer"))
    assert enc.model_type == "timesformer"
    clip = random_clip(rng, 9, 32)
    frames, emb = enc.encode(clip)
    assert frames.shape == (4, 32) and emb.shape == (64,)  # windows at 0, 2, 4, 5
    x = enc.prepare(clip)[torch.as_tensor(enc.stream_indices(9))]
    with torch.inference_mode():
        hidden = model(pixel_values=x).last_hidden_state
    np.testing.assert_allclose(emb, hidden[:, 0].reshape(-1).numpy(), rtol=1e-4, atol=1e-5)
    assert not np.allclose(emb, hidden.mean(1).reshape(-1).numpy(), atol=1e-3)


def test_xclip_video_embeddings_and_processor(tmp_path: Path, rng: np.random.Generator) -> None:
    torch.manual_seed(0)
    vision = {
        **TINY,
        "mit_hidden_size": 32,
        "mit_intermediate_size": 64,
        "mit_num_hidden_layers": 1,
    }
    text = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1}
    text |= {"num_attention_heads": 2, "vocab_size": 64, "max_position_embeddings": 16}
    config = transformers.XCLIPConfig(
        text_config=text, vision_config=vision, projection_dim=32, prompt_layers=1
    )
    model = transformers.XCLIPModel(config)
    path = save(model, tmp_path / "xclip")
    processor = transformers.VideoMAEVideoProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    )
    processor.save_pretrained(str(path))
    enc = hf_encoder(path)
    assert enc.model_type == "x_clip" and enc.processor is not None
    clip = random_clip(rng, 5, 48)[:, :, 4:44]  # 48 x 40 -> shortest edge 32, crop 32
    prepared = enc.prepare(clip)
    assert prepared.shape == (5, 3, 32, 32)
    expected_px = processor(videos=[clip], return_tensors="pt")["pixel_values"][0]
    torch.testing.assert_close(prepared, expected_px)
    frames, emb = enc.encode(clip)
    assert frames.shape == (2, 32) and emb.shape == (64,)
    with torch.inference_mode():
        video = model.get_video_features(
            pixel_values=prepared[torch.as_tensor(enc.stream_indices(5))]
        )
    np.testing.assert_allclose(emb, video.pooler_output.reshape(-1).numpy(), rtol=1e-4, atol=1e-5)


def test_missing_hf_path_names_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="embedding.hf.path") as err:
        build_encoder("hf", {"hf": {"path": str(tmp_path / "absent")}})
    assert str(tmp_path / "absent") in str(err.value)
    with pytest.raises(FileNotFoundError, match="embedding.hf.path"):
        build_encoder("hf", {})
