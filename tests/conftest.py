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


@pytest.fixture(scope="session")
def sam2_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SAM 2 checkpoint with random weights for conf/base's ``sam2.config``, written once per
    session (~150 MB): the real checkpoint loader reads it."""
    from actionlab.segmentation.random_models import save_sam2_checkpoint

    config = yaml.safe_load(SEGMENTATION_PARAMS.read_text())["segmentation"]["sam2"]["config"]
    return save_sam2_checkpoint(tmp_path_factory.mktemp("sam2") / "sam2_random.pt", config)


@pytest.fixture(scope="session")
def tiny_detector_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Grounding DINO and its processor saved once per session (the folder
    ``grounded_sam2.model_dir`` names)."""
    from actionlab.segmentation.random_models import save_grounding_dino

    return save_grounding_dino(tmp_path_factory.mktemp("gdino") / "tiny", "tiny")
