"""SimSiam loss, collapse indicator and the two-view augmentation."""

import math

import pytest
import torch

from actionlab.models import FrameEncoder, SimSiam, TwoViewAugment, collapse_std, simsiam_loss


def test_loss_identical_is_minus_one() -> None:
    z = torch.randn(8, 16)
    assert simsiam_loss(z, z, z, z).item() == pytest.approx(-1.0, abs=1e-6)


def test_loss_orthogonal_is_zero() -> None:
    p = torch.eye(4)[:, :4]
    z = torch.roll(torch.eye(4), 1, dims=1)  # each row orthogonal to the same row of p
    assert simsiam_loss(p, p, z, z).item() == pytest.approx(0.0, abs=1e-6)


def test_loss_is_symmetric_and_scale_free() -> None:
    p1, p2, z1, z2 = (torch.randn(5, 7) for _ in range(4))
    a = simsiam_loss(p1, p2, z1, z2)
    assert a.item() == pytest.approx(simsiam_loss(p2, p1, z2, z1).item(), abs=1e-6)
    assert a.item() == pytest.approx(simsiam_loss(3 * p1, p2, z1, 0.5 * z2).item(), abs=1e-6)


def test_stop_gradient_on_z() -> None:
    p1, p2, z1, z2 = (torch.randn(6, 8, requires_grad=True) for _ in range(4))
    simsiam_loss(p1, p2, z1, z2).backward()
    assert z1.grad is None and z2.grad is None
    assert p1.grad is not None and p1.grad.abs().sum() > 0
    assert p2.grad is not None and p2.grad.abs().sum() > 0


def test_collapse_std_gaussian_and_constant() -> None:
    gen = torch.Generator().manual_seed(0)
    d = 64
    z = torch.randn(4000, d, generator=gen)
    assert collapse_std(z) == pytest.approx(1 / math.sqrt(d), rel=0.05)
    const = torch.randn(1, d, generator=gen).repeat(100, 1)
    assert collapse_std(const) == pytest.approx(0.0, abs=1e-6)


def test_simsiam_forward_shapes() -> None:
    model = SimSiam(FrameEncoder(input_size=32), proj_dim=64, pred_hidden=16)
    x = torch.randn(4, 3, 32, 32)
    p1, p2, z1, z2 = model(x, x.flip(-1))
    assert p1.shape == p2.shape == z1.shape == z2.shape == (4, 64)
    # 3-layer projector with BN on every layer, 2-layer bottleneck predictor.
    linears = [m for m in model.projector if isinstance(m, torch.nn.Linear)]
    bns = [m for m in model.projector if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(linears) == 3 and len(bns) == 3
    pred = [m for m in model.predictor if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in pred] == [16, 64]


@pytest.mark.parametrize(("mode", "channels"), [("rgb", 3), ("diff", 3), ("diff_rgb", 6)])
def test_augment_two_different_views(mode: str, channels: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(4, channels, 32, 32)
    v1, v2 = TwoViewAugment(mode, 32)(x)
    assert v1.shape == v2.shape == x.shape
    assert v1.dtype == x.dtype and v1.device == x.device
    assert torch.isfinite(v1).all() and torch.isfinite(v2).all()
    assert not torch.allclose(v1, v2)
    assert not torch.allclose(v1, x)


def test_augment_keeps_zero_motion_zero() -> None:
    # Photometric jitter on difference channels must not invent motion (no brightness offset).
    v1, v2 = TwoViewAugment("diff", 32)(torch.zeros(3, 3, 32, 32))
    assert v1.abs().max() < 1e-3 and v2.abs().max() < 1e-3
