"""Shared test settings: quiet progress bars, one torch thread per worker, headless matplotlib."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

import torch  # noqa: E402

torch.set_num_threads(1)

import copy  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402

SEGMENTATION_PARAMS = Path(__file__).resolve().parents[1] / "conf" / "base" / "parameters_segmentation.yml"


@pytest.fixture
def segmentation_params() -> dict[str, Any]:
    """A fresh copy of the ``segmentation`` parameters from conf/base (the one source of defaults)."""
    return copy.deepcopy(yaml.safe_load(SEGMENTATION_PARAMS.read_text())["segmentation"])
