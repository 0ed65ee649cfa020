"""Device, seed and thread settings shared by every torch-using room (no kedro here)."""

from __future__ import annotations

import random

import numpy as np
import torch


def resolve_device(device: str = "auto") -> torch.device:
    """Turn a ``device`` parameter into a ``torch.device``.

    ``auto`` picks CUDA when present, else CPU. An explicit ``cuda`` on a machine without
    CUDA raises a ValueError that names the parameter and the fix.
    """
    name = str(device).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this machine; "
            "set the `device` parameter to 'auto' or 'cpu'."
        )
    try:
        return torch.device(name)
    except RuntimeError as err:
        raise ValueError(
            f"Unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'."
        ) from err


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a torch generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def set_threads(num_threads: int | None) -> None:
    """Set torch's intra-op thread count (``None`` or 0 leaves torch's default)."""
    if num_threads:
        torch.set_num_threads(int(num_threads))
