"""Picking each cluster's centre and edge clips, and the cluster_labels.csv template."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actionlab.clustering.describe import (
    centre_distances,
    cluster_labels_table,
    cluster_members_table,
    pick_clips,
)

# cluster 0 lies on the x axis around x = 10 (the six x sum to 60: its mean is exactly 10), so each
# clip's distance to the centre is |x - 10|; cluster 1 (three clips) sits far away at y = 50
X0 = [10.1, 9.8, 10.4, 9.5, 12.0, 8.2]  # distances .1 .2 .4 .5 2.0 1.8
ROWS = [  # (cluster, x, y), interleaved so that row numbers matter
    (0, X0[4], 0.0), (1, 0.0, 49.0), (0, X0[0], 0.0), (0, X0[2], 0.0), (1, 0.0, 50.0),
    (0, X0[5], 0.0), (0, X0[1], 0.0), (1, 0.0, 54.0), (0, X0[3], 0.0),
]  # fmt: skip


@pytest.fixture
def clusters() -> tuple[np.ndarray, np.ndarray]:
    assignments = np.array([c for c, _, _ in ROWS])
    X = np.array([[x, y] for _, x, y in ROWS])
    return X, assignments


def test_distances_are_to_the_mean_of_each_cluster(clusters) -> None:
    X, assignments = clusters
    d = centre_distances(X, assignments)
    expected0 = [abs(x - 10.0) for c, x, _ in ROWS if c == 0]
    np.testing.assert_allclose(d[assignments == 0], expected0, atol=1e-12)
    np.testing.assert_allclose(d[assignments == 1], [2.0, 1.0, 3.0])  # mean y = 51


def test_centre_clips_are_the_nearest_and_edge_clips_the_farthest(clusters) -> None:
    X, assignments = clusters
    picks = pick_clips(centre_distances(X, assignments), assignments, n_centre=2, n_edge=2)
    c0 = picks[picks["cluster"] == 0]
    assert c0[c0["role"] == "centre"].sort_values("rank")["row"].tolist() == [2, 6]  # x 10.1, 9.8
    assert c0[c0["role"] == "edge"].sort_values("rank")["row"].tolist() == [0, 5]  # x 12.0, 8.2
    # a cluster of three fills its two centre rows first; the one left is its edge
    c1 = picks[picks["cluster"] == 1]
    assert c1[c1["role"] == "centre"].sort_values("rank")["row"].tolist() == [4, 1]
    assert c1[c1["role"] == "edge"]["row"].tolist() == [7]
    assert picks["row"].is_unique


def test_no_edge_clips_when_asked_for_none(clusters) -> None:
    X, assignments = clusters
    picks = pick_clips(centre_distances(X, assignments), assignments, n_centre=1, n_edge=0)
    assert picks["role"].eq("centre").all() and picks["row"].tolist() == [2, 4]


def test_the_template_suggests_the_majority_label_and_lists_clips_nearest_first() -> None:
    assignments = np.array([0, 0, 0, 0, 1, 1, -1])
    labels = ["wave", "clap", "wave", "wave", "jump", "jump", "wave"]
    ids = [f"v{i}" for i in range(7)]
    distances = np.array([3.0, 1.0, 0.5, 2.0, 0.2, 0.1, 0.0])
    table = cluster_labels_table(assignments, ids, distances, labels).set_index("cluster")
    assert table.index.tolist() == [0, 1, -1]  # noise last
    assert table.loc[0, "suggested_label"] == "wave" and table.loc[0, "suggested_share"] == 0.75
    assert table.loc[0, "label"] == "wave" and table.loc[0, "label_mix"] == "wave 3, clap 1"
    assert table.loc[0, "n_clips"] == 4 and table.loc[0, "clips"] == "v2 v1 v3 v0"
    assert table.loc[1, "clips"] == "v5 v4" and table.loc[1, "suggested_share"] == 1.0
    # noise is described, but not named: its clips stay out unless the user names it
    assert table.loc[-1, "suggested_label"] == "wave" and table.loc[-1, "label"] == ""


def test_without_labels_nothing_is_suggested() -> None:
    table = cluster_labels_table(np.array([1, 0, 1]), ["a", "b", "c"], np.zeros(3), None)
    assert table["label"].eq("").all() and table["suggested_label"].eq("").all()
    assert table["suggested_share"].isna().all() and table["n_clips"].tolist() == [1, 2]


def test_members_are_listed_by_cluster_nearest_first() -> None:
    clips = pd.DataFrame(
        {"video_id": ["a", "b", "c", "d"], "cluster": [1, 0, 1, -1], "path": ["/a", "/b", "/c", "/d"],
         "time_start": [np.nan, 1.0, np.nan, np.nan], "time_end": [np.nan, 2.5, np.nan, np.nan],
         "group": ["p1", "p2", "p1", "p3"], "clip_key": ["ka", "kb", "kc", "kd"]}
    )  # fmt: skip
    members = cluster_members_table(clips, np.array([0.9, 0.0, 0.1, 0.0]))
    assert members["video_id"].tolist() == ["b", "c", "a", "d"]
    assert list(members.columns) == ["video_id", "cluster", "path", "time_start", "time_end", "group"]
    assert members.loc[0, "time_end"] == 2.5
