"""A tiny classifier trained in the test session on generated videos (no kedro), saved as the blob
the classification pipeline writes, with the lineage of the motion features it was trained on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from actionlab.encoders import build_encoder
from actionlab.lineage import with_lineage
from actionlab.models.compare import ClassificationData, LazySequences, classifier_blob, fit_model
from actionlab.synthetic.dataset import generate_dataset
from actionlab.video.decode import load_clip

REPO = Path(__file__).resolve().parents[2]
ACTIONS = ("wave", "squat")
PREPROCESSING = {"strategy": "step", "step": 1, "max_frames": 12, "size": 48, "crop_offset": [0.0, 0.0]}
EMBEDDING = {"encoder": "motion", "num_frames": 4, "small_step": 1, "pooling": "meanstd", "streams": "two"}


def _params() -> dict[str, Any]:
    params = yaml.safe_load((REPO / "conf/base/parameters_classification.yml").read_text())["classification"]
    params.update(progress=False, device="cpu")
    params["train"].update(epochs=8, patience=8)
    return params


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> pd.DataFrame:
    """Generated videos of two actions (labels.csv table with absolute paths)."""
    root = tmp_path_factory.mktemp("videos")
    table = generate_dataset(root, actions=ACTIONS, clips_per_action=3, incorrect_per_action=0,
                             num_actors=2, num_frames=24, size=64, progress=False)  # fmt: skip
    return table.assign(path=[str(root / p) for p in table["path"]])


@pytest.fixture(scope="session")
def blob(videos: pd.DataFrame) -> dict[str, Any]:
    """A frame_avg classifier trained on the motion features of the videos' clips."""
    encoder = build_encoder("motion", EMBEDDING)
    clip = {**PREPROCESSING, "crop_offset": tuple(PREPROCESSING["crop_offset"])}
    feats = [encoder.encode(load_clip(p, **clip).frames) for p in videos["path"]]
    n = len(videos)
    data = ClassificationData(
        video_ids=np.arange(n).astype(str), labels=videos["label"].to_numpy(), splits=np.array(["train"] * n),
        groups=np.zeros(n).astype(str), embeddings=np.stack([e for _, e in feats]).astype(np.float64),
        sequences=LazySequences([str(i) for i in range(n)], lambda k: feats[int(k)][0]),
    )  # fmt: skip
    params = _params()
    fitted = fit_model("frame_avg", data, np.arange(n), np.arange(n), params, desc="test")
    lineage = with_lineage(pd.DataFrame(), params={"preprocessing": PREPROCESSING, "embedding": EMBEDDING}).attrs["lineage"]
    return classifier_blob(fitted, data.classes, lineage, params)
