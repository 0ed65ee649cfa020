"""From clusters to labels: the default run describes its clusters, a user names them, and
ingestion with source=cluster_labels makes the labelled manifest."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from .conftest import copy_project, run_pipelines

pytestmark = pytest.mark.slow
CLUSTERS = "data/08_reporting/clusters"


def test_every_cluster_has_a_contact_sheet_a_preview_and_a_template_row(default_project: Path):
    out = default_project / CLUSTERS
    k = json.loads((default_project / "data/07_model_output/clustering_info.json").read_text())["k"]
    assignments = pd.read_parquet(default_project / "data/07_model_output/cluster_assignments.parquet")
    names = sorted(f"cluster_{c}" for c in assignments["cluster"].unique())
    assert len(names) == k
    assert sorted(p.stem for p in (out / "sheets").glob("*.png")) == names
    assert sorted(p.stem for p in (out / "previews").glob("*.gif")) == names
    artifacts = sqlite3.connect(default_project / "mlflow.db").execute("select artifact_uri from runs").fetchone()[0]
    logged = Path(artifacts.removeprefix("file://")) / "clusters" / "sheets"
    assert sorted(p.stem for p in logged.glob("*.png")) == names  # contact sheets in MLflow
    gif = Image.open(out / "previews" / f"{names[0]}.gif")
    assert gif.n_frames > 1 and gif.info["loop"] == 0
    template = pd.read_csv(out / "cluster_labels.csv", keep_default_na=False)
    assert template["cluster"].tolist() == sorted(assignments["cluster"].unique())
    sizes = assignments["cluster"].value_counts()
    assert template.set_index("cluster")["n_clips"].to_dict() == sizes.to_dict()
    majority = assignments.groupby("cluster")["label"].agg(lambda s: s.value_counts().index[0])
    assert (template.set_index("cluster")["label"] == majority).all()  # pre-filled suggestion
    members = pd.read_csv(out / "cluster_members.csv")
    assert set(members["video_id"]) == set(assignments["video_id"])
    assert members.set_index("video_id")["cluster"].to_dict() == assignments.set_index("video_id")["cluster"].to_dict()


def test_named_clusters_become_the_labels_of_a_new_manifest(default_project: Path, tmp_path: Path, monkeypatch):
    project = copy_project(default_project, tmp_path / "project")
    monkeypatch.chdir(project)
    mine = project / "data/01_raw/my_clusters"  # out of the way of the next clustering run
    mine.mkdir()
    for name in ("cluster_labels.csv", "cluster_members.csv"):
        shutil.copy(project / CLUSTERS / name, mine / name)
    template = pd.read_csv(mine / "cluster_labels.csv", keep_default_na=False)
    dropped = int(template["cluster"].iloc[-1])
    template["label"] = [f"found_{s}" for s in template["suggested_label"]]
    template.loc[template["cluster"] == dropped, "label"] = ""  # left out
    template.to_csv(mine / "cluster_labels.csv", index=False)
    before = pd.read_parquet(project / "data/02_intermediate/manifest.parquet").set_index("video_id")

    root = str(mine / "cluster_labels.csv")
    run_pipelines(project, ["ingestion"], {"ingestion": {"source": "cluster_labels", "root": root, "progress": False}})

    manifest = pd.read_parquet(project / "data/02_intermediate/manifest.parquet").set_index("video_id")
    members = pd.read_csv(mine / "cluster_members.csv").set_index("video_id")
    named = template.set_index("cluster")["label"]
    expected = members.loc[members["cluster"] != dropped, "cluster"].map(named)
    assert (manifest["status"] == "accepted").all()
    assert manifest["label"].sort_index().to_dict() == expected.sort_index().to_dict()
    assert not set(members.index[members["cluster"] == dropped]) & set(manifest.index)
    # same clips, same ids: each keeps its split and its group
    assert manifest["split"].to_dict() == before.loc[manifest.index, "split"].to_dict()
    assert manifest["group"].to_dict() == before.loc[manifest.index, "group"].to_dict()
