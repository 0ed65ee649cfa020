"""The default `kedro run` end to end on generated videos, then what a user checks afterwards."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from actionlab.models import load_frame_encoder
from actionlab.video import read_clip

from .conftest import FAST_PARAMS, copy_project, run_pipelines

pytestmark = pytest.mark.slow
SYNTHETIC = FAST_PARAMS["ingestion"]["synthetic"]
CLIPS = 6 * (SYNTHETIC["clips_per_action"] + SYNTHETIC["incorrect_per_action"])  # 6 actions


def test_ingestion_writes_the_builtin_videos_and_a_grouped_split(default_project: Path):
    manifest = pd.read_parquet(default_project / "data/02_intermediate/manifest.parquet")
    assert len(manifest) == CLIPS
    assert (manifest["status"] == "accepted").all()
    assert set(manifest["split"]) == {"train", "val", "test"}
    assert (manifest.groupby("group")["split"].nunique() == 1).all()  # no actor crosses splits
    assert manifest["video_id"].is_unique
    assert (default_project / "data/01_raw/synthetic/labels.csv").is_file()


def test_preprocessing_stores_one_clip_per_video(default_project: Path):
    index = pd.read_parquet(default_project / "data/03_primary/clip_index.parquet")
    clips = sorted((default_project / "data/03_primary/clips").glob("*.h5"))
    assert len(clips) == len(index) == CLIPS
    clip = read_clip(clips[0])
    assert clip["frames"].dtype == np.uint8
    assert clip["frames"].shape == (12, 64, 64, 3)  # 24 frames, every 2nd kept
    assert clip["indices"].tolist() == list(range(0, 24, 2))


def test_ssl_encoder_is_saved_and_loads_with_weights_only(default_project: Path):
    path = default_project / "data/04_feature/ssl_encoder.pt"
    blob = torch.load(path, weights_only=True)
    assert blob["config"]["input_size"] == FAST_PARAMS["ssl_training"]["input_size"]
    encoder = load_frame_encoder(path)
    clip = np.random.default_rng(0).integers(0, 255, (5, 64, 64, 3), dtype=np.uint8)
    with torch.inference_mode():
        out = encoder(encoder.prepare(clip))
    assert out.shape == (5, encoder.dim) and torch.isfinite(out).all()
    history = pd.read_csv(default_project / "data/08_reporting/ssl_history.csv")
    assert {"epoch", "loss", "collapse_std"} <= set(history.columns)


def test_embeddings_and_clusters_cover_every_clip(default_project: Path):
    embeddings = pd.read_parquet(default_project / "data/04_feature/clip_embeddings.parquet")
    matrix = np.stack(embeddings["embedding"].to_numpy())
    assert matrix.shape[0] == CLIPS and np.isfinite(matrix).all()
    assignments = pd.read_parquet(default_project / "data/07_model_output/cluster_assignments.parquet")
    assert assignments["cluster"].nunique() == 6  # k = number of labels
    scores = json.loads((default_project / "data/08_reporting/clustering_scores.json").read_text())
    assert {"nmi", "ari", "accuracy", "purity", "silhouette"} <= set(scores)
    assert 0.0 <= scores["nmi"] <= 1.0


def test_reports_and_plots_are_written(default_project: Path):
    reporting = default_project / "data/08_reporting"
    for name in ("clip_samples", "ssl_loss", "embedding_map", "centroid_distances", "cluster_confusion", "silhouette"):
        png = reporting / f"{name}.png"
        assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG", name
    summary = pd.read_csv(reporting / "centroid_summary.csv")
    assert len(summary) == 6 and {"radius_same", "nearest_other"} <= set(summary.columns)


def test_mlflow_run_holds_parameters_metrics_and_artifacts(default_project: Path):
    db = sqlite3.connect(default_project / "mlflow.db")
    runs = db.execute("select run_uuid, name, artifact_uri from runs").fetchall()
    assert len(runs) == 1 and runs[0][1].startswith("default")
    params = dict(db.execute("select key, value from params").fetchall())
    assert params["ingestion.source"] == "synthetic" and params["embedding.encoder"] == "ssl"
    metrics = {k for (k,) in db.execute("select distinct key from metrics")}
    # one key per measure, <stage>.<measure>, whatever the algorithm (a parameter)
    assert {"clustering.nmi", "clustering.accuracy", "clustering.nmi_unseen", "clustering.nmi_labelfree"} <= metrics
    assert {"ssl_training.loss", "embedding.frames_per_s", "ingestion.videos_accepted"} <= metrics
    assert not [k for k in metrics if "kmeans" in k] and params["clustering.algorithm"] == "kmeans"
    losses = db.execute("select count(*) from metrics where key = 'ssl_training.loss'").fetchone()[0]
    assert losses >= FAST_PARAMS["ssl_training"]["epochs"]
    artifacts = Path(runs[0][2].removeprefix("file://"))
    assert (artifacts / "plots" / "embedding_map.png").is_file()


def test_preprocessing_is_incremental(default_project: Path, tmp_path: Path, monkeypatch):
    project = copy_project(default_project, tmp_path / "project")  # the shared one stays as it is
    monkeypatch.chdir(project)
    clips = project / "data/03_primary/clips"
    before = {p.name: p.stat().st_mtime_ns for p in clips.glob("*.h5")}
    run_pipelines(project, ["preprocessing"], FAST_PARAMS)
    after = {p.name: p.stat().st_mtime_ns for p in clips.glob("*.h5")}
    assert after == before  # same videos, same parameters: nothing decoded or written again
    changed = {**FAST_PARAMS, "preprocessing": {**FAST_PARAMS["preprocessing"], "size": 48}}
    run_pipelines(project, ["preprocessing"], changed)
    assert len(list(clips.glob("*.h5"))) == 2 * len(before)
    index = pd.read_parquet(project / "data/03_primary/clip_index.parquet")
    assert read_clip(clips / f"{index['clip_key'][0]}.h5")["frames"].shape[1:] == (48, 48, 3)
