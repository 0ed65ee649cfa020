"""Scores of two clusterings on all clips and on the clips SSL did not train on."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from actionlab.clustering.evaluation import (
    Clustering,
    metric_key,
    score_table,
    scores_report,
    table_metrics,
    unseen_mask,
)


@pytest.fixture(scope="module")
def three_blobs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three well-separated 2-D blobs of 12 points; every 3rd point of each blob is unseen."""
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]])
    X = np.vstack([c + rng.normal(0, 0.5, (12, 2)) for c in centers])
    y = np.repeat(["a", "b", "c"], 12)
    splits = np.array(["train", "train", "test"] * 12, dtype=object)
    return X, y, splits


def test_unseen_mask_is_every_split_the_encoder_did_not_train_on() -> None:
    splits = ["train", "val", "test", None, "train"]
    assert unseen_mask(splits, ["train"]).tolist() == [False, True, True, True, False]
    assert unseen_mask(splits, ["train", "val"]).tolist() == [False, False, True, True, False]
    assert unseen_mask(splits, []).all()


def test_metric_keys_vary_in_one_suffix_each() -> None:
    assert metric_key("nmi") == "nmi"
    assert metric_key("nmi", clips="unseen") == "nmi_unseen"
    assert metric_key("k", "labelfree") == "k_labelfree"
    assert (
        metric_key("accuracy", "labelfree", "unseen")
        == "accuracy_labelfree_unseen"
    )
    with pytest.raises(KeyError):
        metric_key("nmi", clips="val")


def test_unseen_scores_ignore_wrong_clusters_of_train_clips(three_blobs) -> None:
    X, y, splits = three_blobs
    unseen = unseen_mask(splits, ["train"])
    truth = np.repeat([0, 1, 2], 12)
    wrong = truth.copy()
    wrong[~unseen] = np.arange((~unseen).sum()) % 3  # train clips: clusters unrelated to the blobs
    table = score_table(X, {"labels": Clustering(wrong, 3, "labels")}, y, unseen)
    rows = table.set_index("clips")
    assert rows.loc["unseen", "n_clips"] == 12 and rows.loc["all", "n_clips"] == 36
    assert rows.loc["unseen", "nmi"] == pytest.approx(1.0)
    assert rows.loc["unseen", "accuracy"] == 1.0
    assert rows.loc["all", "nmi"] == pytest.approx(normalized_mutual_info_score(y, wrong))
    assert rows.loc["all", "nmi"] < 0.5
    assert rows["note"].isna().all()


def test_unseen_nmi_is_the_nmi_of_the_unseen_clips_alone(three_blobs) -> None:
    X, y, splits = three_blobs
    pred = np.random.default_rng(4).integers(0, 3, len(y))
    unseen = unseen_mask(splits, ["train"])
    table = score_table(X, {"labels": Clustering(pred, 3, "labels")}, y, unseen)
    unseen_row = table[table["clips"] == "unseen"].iloc[0]
    assert unseen_row["nmi"] == pytest.approx(normalized_mutual_info_score(y[unseen], pred[unseen]))


def test_too_few_unseen_clips_give_nan_and_a_reason(three_blobs) -> None:
    X, y, _ = three_blobs
    truth = np.repeat([0, 1, 2], 12)
    unseen = np.zeros(36, dtype=bool)
    unseen[[0, 12]] = True  # two clips, k = 3
    runs = {
        "labels": Clustering(truth, 3, "labels"),
        "labelfree": Clustering(truth, 3, "silhouette"),
    }
    table = score_table(X, runs, y, unseen)
    small = table[table["clips"] == "unseen"]
    assert len(small) == 2
    assert small["nmi"].isna().all() and small["silhouette"].isna().all()
    assert (small["n_clips"] == 2).all()
    assert small["note"].str.contains("fewer than k = 3").all()
    metrics = table_metrics(table)
    assert metrics["nmi"] == pytest.approx(1.0)
    assert metrics["n_clips_unseen"] == 2.0
    assert "nmi_unseen" not in metrics and "nmi_labelfree_unseen" not in metrics
    none = score_table(X, runs, y, np.zeros(36, dtype=bool))
    assert set(none.loc[none["clips"] == "unseen", "note"]) == {"no clips"}


def test_report_is_strict_json_with_the_headline_on_top(three_blobs) -> None:
    X, y, splits = three_blobs
    truth = np.repeat([0, 1, 2], 12)
    merged = np.where(truth == 2, 1, truth)  # the label-free run found two clusters
    runs = {
        "labels": Clustering(truth, 3, "labels"),
        "labelfree": Clustering(merged, 2, "silhouette"),
    }
    unseen = unseen_mask(splits, ["train"])
    unseen[unseen] = [True] + [False] * (unseen.sum() - 1)  # one unseen clip: unscorable
    report = scores_report(
        score_table(X, runs, y, unseen), algorithm="kmeans", ssl_splits=["train"]
    )
    text = json.dumps(report, allow_nan=False)  # NaN written as null
    back = json.loads(text)
    assert back["algorithm"] == "kmeans" and "['train']" in back["unseen"]
    assert back["k_choice"] == "labels" and back["clips"] == "all"
    assert back["k"] == 3 and back["n_clips"] == 36 and back["nmi"] == pytest.approx(1.0)
    assert [(r["k_choice"], r["clips"]) for r in back["table"]] == [
        ("labels", "all"), ("labels", "unseen"), ("labelfree", "all"), ("labelfree", "unseen"),
    ]  # fmt: skip
    free_all = back["table"][2]
    assert free_all["k"] == 2 and free_all["k_source"] == "silhouette"
    assert free_all["nmi"] == pytest.approx(normalized_mutual_info_score(y, merged))
    assert back["table"][1]["nmi"] is None and back["table"][1]["note"]
    assert isinstance(back["table"][1]["n_clips"], int)
    assert not any(
        isinstance(v, float) and math.isnan(v) for r in back["table"] for v in r.values()
    )


def test_unknown_k_choice_is_refused(three_blobs) -> None:
    X, y, splits = three_blobs
    with pytest.raises(ValueError, match="k_choice"):
        score_table(
            X, {"reference": Clustering(np.zeros(36, int), 1, "param")}, y, splits == "test"
        )
