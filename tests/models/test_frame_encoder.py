"""FrameEncoder input modes, norms, weights loading and save/load."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from actionlab.models import (
    FrameEncoder,
    load_backbone_weights,
    load_frame_encoder,
    prepare_clip,
    prepare_windows,
    save_frame_encoder,
)


def _moving_clip(t: int = 6, size: int = 48, seed: int = 0) -> np.ndarray:
    """A noisy static background with a bright square moving right."""
    rng = np.random.default_rng(seed)
    bg = rng.integers(0, 255, size=(size, size, 3), dtype=np.uint8)
    clip = np.repeat(bg[None], t, axis=0)
    for i in range(t):
        clip[i, 10:20, 4 + 3 * i : 14 + 3 * i] = 255
    return clip


@pytest.mark.parametrize(("mode", "channels"), [("rgb", 3), ("diff", 3), ("diff_rgb", 6)])
def test_prepare_shape(mode: str, channels: int) -> None:
    enc = FrameEncoder(input_mode=mode, input_size=32)
    x = enc.prepare(_moving_clip())
    assert x.shape == (6, channels, 32, 32)
    assert x.dtype == torch.float32
    assert enc(x[:2]).shape == (2, enc.dim)


@pytest.mark.parametrize("mode", ["diff", "diff_rgb"])
def test_diff_of_static_clip_is_zero(mode: str) -> None:
    clip = np.repeat(_moving_clip()[:1], 5, axis=0)  # the textured background, not moving
    x = prepare_clip(clip, input_mode=mode, input_size=32)
    assert x[:, :3].abs().max() < 1e-6
    if mode == "diff_rgb":
        assert x[:, 3:].abs().max() > 0.1  # the appearance channels still see the background


def test_diff_sees_motion_only_where_it_happens() -> None:
    x = prepare_clip(_moving_clip(), input_mode="diff", input_size=48)
    energy = x.abs().sum(dim=(0, 1))
    assert energy[10:20].sum() > 0
    assert energy[25:].abs().max() < 1e-6  # rows the square never visits


def test_prepare_windows_matches_prepare_clip() -> None:
    clip = _moving_clip(t=7)
    for mode, k in [("rgb", 1), ("diff", 1), ("diff", 2), ("diff_rgb", 1)]:
        full = prepare_clip(clip, input_mode=mode, input_size=32, diff_step=k)
        t = 3
        window = clip[t - k : t + k + 1][None] if mode != "rgb" else clip[t][None]
        one = prepare_windows(window, input_mode=mode, input_size=32, diff_step=k)
        torch.testing.assert_close(one[0], full[t], atol=1e-5, rtol=1e-5)


def test_motion_roi_zooms_in_on_the_moving_square() -> None:
    clip = _moving_clip(t=6, size=96)  # the square moves over rows 10..20, columns 4..29
    full = prepare_clip(clip, input_mode="diff", input_size=32, roi="full")
    roi = prepare_clip(clip, input_mode="diff", input_size=32, roi="motion")
    assert roi.shape == full.shape == (6, 3, 32, 32)
    moving = lambda x: (x.abs().sum(dim=(0, 1)) > 1e-3).float().mean()  # noqa: E731
    assert moving(roi) > 4 * moving(full)  # the motion fills far more of the input
    with pytest.raises(ValueError, match="roi"):
        FrameEncoder(roi="mask")


def test_prepare_windows_rejects_wrong_length() -> None:
    with pytest.raises(ValueError, match="windows of shape"):
        prepare_windows(np.zeros((2, 5, 8, 8, 3), np.uint8), input_mode="diff", diff_step=1)


def test_unknown_mode_raises() -> None:
    with pytest.raises(ValueError, match="input_mode"):
        FrameEncoder(input_mode="flow")


def test_scale_norm_is_homogeneous_and_static() -> None:
    torch.manual_seed(0)
    enc = FrameEncoder(input_size=32, norm="scale").train()
    before = {k: v.clone() for k, v in enc.state_dict().items() if "running" in k}
    x = torch.randn(4, 3, 32, 32)
    out = enc(x)
    assert torch.allclose(enc(2 * x), 2 * out, rtol=1e-4, atol=1e-5)
    assert enc(torch.zeros(2, 3, 32, 32)).abs().max() == 0
    after = {k: v for k, v in enc.state_dict().items() if "running" in k}
    assert all(torch.equal(before[k], after[k]) for k in before)  # statistics never updated


def test_save_load_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    enc = FrameEncoder(
        input_mode="diff", input_size=32, diff_step=2, norm="scale", roi="motion", mirror=True
    ).eval()
    path = tmp_path / "enc.pt"
    save_frame_encoder(enc, path)
    loaded = load_frame_encoder(path)
    assert loaded.config == enc.config
    assert not loaded.training
    x = enc.prepare(_moving_clip())
    torch.testing.assert_close(loaded.prepare(_moving_clip()), x)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), enc(x))
    np.testing.assert_allclose(loaded.embed_clip(_moving_clip()), enc.embed_clip(_moving_clip()))


def test_load_missing_encoder_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="ssl_training"):
        load_frame_encoder(tmp_path / "nope.pt")


def test_missing_weights_file_names_parameter(tmp_path: Path) -> None:
    missing = tmp_path / "resnet18.pth"
    with pytest.raises(FileNotFoundError) as err:
        load_backbone_weights(FrameEncoder(input_size=32), missing)
    assert "ssl_training.weights_path" in str(err.value)
    assert str(missing) in str(err.value)


@pytest.mark.parametrize("mode", ["diff", "diff_rgb"])
def test_load_torchvision_weights(tmp_path: Path, mode: str) -> None:
    torch.manual_seed(1)
    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    enc = FrameEncoder(input_mode=mode, input_size=32)
    load_backbone_weights(enc, path)
    torch.testing.assert_close(
        enc.backbone.layer4[1].conv2.weight, reference.layer4[1].conv2.weight
    )
    conv = enc.backbone.conv1.weight
    if mode == "diff":
        torch.testing.assert_close(conv, reference.conv1.weight)
    else:
        assert conv.shape[1] == 6
        torch.testing.assert_close(conv[:, 3:], reference.conv1.weight)
