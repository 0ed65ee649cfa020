"""Tiny classifiers trained in the test session on generated videos (no kedro), saved as the blobs
the classification pipeline writes: a feature model with the lineage of the motion features it was
trained on, and a clip model with the lineage of its clips."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from actionlab.encoders import build_encoder
from actionlab.engine import PartitionStore
from actionlab.lineage import with_lineage
from actionlab.manifest import ACCEPTED
from actionlab.models.compare import (
    ClassificationData,
    Fitted,
    LazySequences,
    classifier_blob,
    clip_windows,
    fit_model,
)
from actionlab.synthetic.dataset import generate_dataset
from actionlab.video.decode import load_clip
from actionlab.video.items import CLIP_SUFFIX, clip_item

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


CLIP = {"frames_per_clip": 4, "stride": 2, "input_size": 32, "views": 2}


@dataclass
class ClipModelCase:
    """A tiny clip model trained through the pipeline's path, with what its evaluation read."""

    blob: dict[str, Any]
    fitted: Fitted
    data: ClassificationData  # data.clips: the windows of the clips stored by the preprocessing item
    params: dict[str, Any]


@pytest.fixture(scope="session")
def clip_model(videos: pd.DataFrame, tmp_path_factory) -> ClipModelCase:
    """A cnn_lstm trained for one epoch on the videos' clips, stored as the preprocessing stage
    stores them (``clip_item``) and read as the classification pipeline reads them (``clip_windows``)."""
    store = PartitionStore(str(tmp_path_factory.mktemp("clips")), CLIP_SUFFIX)
    clip = {**PREPROCESSING, "crop_offset": tuple(PREPROCESSING["crop_offset"])}
    keys = [f"v{i}" for i in range(len(videos))]
    frames = [clip_item(Path(store.local_path(k)), path=p, start=None, end=None, clip=clip)["frames"]
              for k, p in zip(keys, videos["path"], strict=True)]  # fmt: skip
    n = len(videos)
    index = pd.DataFrame({"clip_key": keys, "clip_frames": frames, "status": ACCEPTED,
                          "label": videos["label"].to_numpy(), "split": "train"})  # fmt: skip
    data = ClassificationData(
        video_ids=np.arange(n).astype(str), labels=videos["label"].to_numpy(), splits=np.array(["train"] * n),
        groups=np.zeros(n).astype(str), embeddings=np.zeros((n, 1)), sequences=None,
    )  # fmt: skip
    params = _params()
    params["clip"].update(CLIP, windows=1, epochs=1, batch_size=6)
    params["cnn_lstm"].update(hidden=16)
    data.clips = clip_windows(index, store, keys, data.classes, params)
    fitted = fit_model("cnn_lstm", data, np.arange(n), np.arange(n), params, desc="test")
    lineage = with_lineage(pd.DataFrame(), params={"preprocessing": PREPROCESSING}).attrs["lineage"]
    return ClipModelCase(classifier_blob(fitted, data.classes, lineage, params), fitted, data, params)
