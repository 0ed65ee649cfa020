"""A model trained on segmented clips segments a new video the same way before encoding it."""

from __future__ import annotations

import numpy as np
import pytest

from actionlab.inference.predictor import PredictError, VideoFeatures
from actionlab.lineage import flatten
from actionlab.synthetic import render_clip
from actionlab.video.write import write_video

CLIP = {"strategy": "step", "step": 1, "max_frames": 40, "size": 64, "crop_offset": (0.0, 0.0)}


def _blob(embedding_input: str, segmentation: dict | None) -> dict:
    params = {"embedding": {"input": embedding_input, "encoder": "motion"}}
    if segmentation is not None:
        params["segmentation"] = segmentation
    return {"lineage": {"params": flatten(params), "inputs": {}}}


def test_segmentation_comes_from_the_lineage_only_for_segmented_features(segmentation_params):
    what = {"what": "classifier 'x'", "pipeline": "classification"}
    assert VideoFeatures.segmentation_of(_blob("raw", segmentation_params), **what) is None
    got = VideoFeatures.segmentation_of(_blob("segmented", segmentation_params), **what)
    assert got["backend"] == "motion" and got["motion"] == segmentation_params["motion"]
    with pytest.raises(PredictError, match="kedro run --pipelines segmentation,embedding,classification"):
        VideoFeatures.segmentation_of(_blob("segmented", None), **what)


def test_a_segmented_model_sees_the_background_removed(tmp_path, segmentation_params):
    clip = render_clip("jump", seed=3, num_frames=40, size=64)
    path = write_video(tmp_path / "jump.mp4", clip.frames, fps=20.0)
    raw = VideoFeatures(clip_params=CLIP, encoder=None).clip(path, 0.0, 2.0)
    seg = VideoFeatures(clip_params=CLIP, encoder=None, segmentation=segmentation_params).clip(path, 0.0, 2.0)
    assert seg.shape == raw.shape
    kept = (seg != 0).any(axis=3)
    np.testing.assert_array_equal(seg[kept], raw[kept])  # the figure's pixels are untouched
    assert 0.0 < kept.mean() < 0.5  # the rest is background (0), the figure a small part
    # what it kept is the figure far more often than chance (the rendered ground truth)
    truth = clip.masks
    assert (kept & truth).sum() / kept.sum() > 3 * truth.mean()
