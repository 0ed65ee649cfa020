"""Shared fixtures of the segmentation tests: the project's default parameters (conf/base is the
one source of defaults)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

PARAMS_FILE = Path(__file__).resolve().parents[2] / "conf" / "base" / "parameters_segmentation.yml"


@pytest.fixture
def segmentation_params() -> dict[str, Any]:
    """A fresh copy of the ``segmentation`` parameters from conf/base (tests change it freely)."""
    return copy.deepcopy(yaml.safe_load(PARAMS_FILE.read_text())["segmentation"])
