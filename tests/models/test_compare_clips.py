"""compare_classifiers with a clip model under leave-one-group-out, on toy clips in memory."""

from pathlib import Path

import numpy as np
import yaml

from actionlab.models.clip_data import ArrayClips, ClipDataset
from actionlab.models.compare import (
    ClassificationData,
    classifier_blob,
    classifier_from_blob,
    compare_classifiers,
)
from tests.models.clip_helpers import toy_set

REPO = Path(__file__).resolve().parents[2]


def test_group_cv_tests_each_clip_once_in_its_groups_fold_and_keeps_a_fit_on_all_clips() -> None:
    params = yaml.safe_load((REPO / "conf/base/parameters_classification.yml").read_text())["classification"]
    params.update(cv="group", device="cpu", progress=False, val_share=0.25)
    params["clip"].update(frames_per_clip=4, stride=2, input_size=32, views=2, windows=1, epochs=1)
    params["cnn_lstm"].update(hidden=8)
    n = 12
    clips, y = toy_set(n, frames=10)
    names = np.array(["left", "right"])[y]  # class order: left (1), right (0)
    groups = np.array(["a", "b", "c"])[np.arange(n) % 3]
    data = ClassificationData(
        video_ids=np.array([f"v{i}" for i in range(n)]), labels=names, splits=np.full(n, "train"),
        groups=groups, embeddings=np.zeros((n, 1)), sequences=None,
    )  # fmt: skip
    data.clips = ClipDataset(
        [str(i) for i in range(n)], [10] * n, data.y, ArrayClips(clips), classes=data.classes,
        frames_per_clip=4, stride=2, size=32, train=True, views=2,
    )  # fmt: skip
    result = compare_classifiers(data, ["cnn_lstm"], params)
    p = result.predictions
    assert sorted(p["video_id"]) == sorted(data.video_ids)  # every clip tested once
    assert (p["fold"].to_numpy() == groups[[int(v[1:]) for v in p["video_id"]]]).all()
    assert np.allclose(p[["p_left", "p_right"]].sum(axis=1), 1.0, atol=1e-5)
    assert set(result.histories["fold"]) == {"a", "b", "c", "all"}
    assert len(result.costs) == 3 and (result.costs["parameters"] > 0).all()
    blob = classifier_blob(result.models["cnn_lstm"], data.classes, {}, params)
    assert blob["input"] == "clips" and blob["config"]["hidden_size"] == 8
    rebuilt = classifier_from_blob(blob)
    kept = result.models["cnn_lstm"].model.cpu()
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(
        rebuilt.state_dict().values(), kept.state_dict().values(), strict=True))  # fmt: skip
