"""SimSiam (Chen & He, 2021): backbone + projector + predictor, stop-gradient loss, collapse check."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from actionlab.models.frame_encoder import FrameEncoder


def projection_mlp(in_dim: int, proj_dim: int) -> nn.Sequential:
    """3-layer projector, BN on every layer, no ReLU (and no affine BN) on the output."""
    return nn.Sequential(
        nn.Linear(in_dim, proj_dim, bias=False),
        nn.BatchNorm1d(proj_dim),
        nn.ReLU(inplace=True),
        nn.Linear(proj_dim, proj_dim, bias=False),
        nn.BatchNorm1d(proj_dim),
        nn.ReLU(inplace=True),
        nn.Linear(proj_dim, proj_dim, bias=False),
        nn.BatchNorm1d(proj_dim, affine=False),
    )


def prediction_mlp(proj_dim: int, hidden: int) -> nn.Sequential:
    """2-layer bottleneck predictor ``proj_dim -> hidden -> proj_dim`` (BN + ReLU in the middle)."""
    return nn.Sequential(
        nn.Linear(proj_dim, hidden, bias=False),
        nn.BatchNorm1d(hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, proj_dim),
    )


class SimSiam(nn.Module):
    """Siamese network: ``forward(x1, x2) -> (p1, p2, z1, z2)`` (z: projections, p: predictions)."""

    def __init__(self, encoder: FrameEncoder, proj_dim: int = 2048, pred_hidden: int = 512) -> None:
        super().__init__()
        self.encoder = encoder
        self.projector = projection_mlp(encoder.dim, proj_dim)
        self.predictor = prediction_mlp(proj_dim, pred_hidden)

    def forward(
        self, x1: torch.Tensor, x2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        # One pass over both views (half the kernel launches; the projector/predictor BatchNorm
        # statistics are then computed over both views together).
        z = self.projector(self.encoder(torch.cat([x1, x2])))
        p = self.predictor(z)
        z1, z2 = z.chunk(2)
        p1, p2 = p.chunk(2)
        return p1, p2, z1, z2


def simsiam_loss(
    p1: torch.Tensor, p2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor
) -> torch.Tensor:
    """Symmetric negative cosine with stop-gradient on z; -1 at best, 0 for orthogonal."""
    d1 = F.cosine_similarity(p1, z2.detach(), dim=-1).mean()
    d2 = F.cosine_similarity(p2, z1.detach(), dim=-1).mean()
    return -(d1 + d2) / 2


@torch.no_grad()
def collapse_std(z: torch.Tensor) -> float:
    """Std over the batch of L2-normalised ``z``, averaged over dims.

    About ``1 / sqrt(d)`` for well-spread outputs, tending to 0 when all outputs collapse
    to one vector.
    """
    zn = F.normalize(z.detach().float(), dim=-1)
    return float(zn.std(dim=0).mean())
