"""The `anomaly` pipeline on a copy of the default project: outputs per target and model (the
sequence autoencoder on the per-frame features too), the percentile threshold, loadable scorers,
augmented copies of the correct train clips only, MLflow metric keys, loss histories and
artifacts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from actionlab.anomaly.scorers import FRAME_FEATURES, TRAINED, scorer_from_blob
from actionlab.datasets import ItemStoreDataset
from actionlab.models.compare import stored_sequence

from .conftest import FAST_PARAMS, copy_project, run_pipelines

pytestmark = pytest.mark.slow
MODELS = ["mahalanobis", "knn", "autoencoder", "sequence_autoencoder"]
AUGMENT_COPIES = 1
FAST = {"anomaly": {"models": MODELS, "progress": False, "device": "cpu", "frame_plot_clips": 1,
                    "augment": {"copies": AUGMENT_COPIES, "flip_labels": ["clap"]},
                    "threshold": {"percentile": 90.0}, "train": {"epochs": 15, "patience": 5},
                    "sequence_autoencoder": {"hidden": 16, "latent": 8}}}  # fmt: skip


COPIES = 4  # more clips per target and split than the default project's two


def _replicate(root: Path) -> None:
    """Each clip of the copy's embedding table (and its manifest row) ``COPIES`` times, with new
    video ids and a little noise on the embedding, so every target has several clips per split."""
    rng = np.random.default_rng(0)
    clips = pd.read_parquet(root / "data/04_feature/clip_embeddings.parquet")
    manifest = pd.read_parquet(root / "data/02_intermediate/manifest.parquet")
    x = np.stack(clips["embedding"].to_numpy())
    noise = 0.05 * x.std(axis=0)
    copies, rows = [], []
    for i in range(COPIES):
        own = clips.assign(video_id=clips["video_id"].astype(str) + f"_{i}")
        own["embedding"] = list((x + rng.normal(size=x.shape) * noise).astype(x.dtype))
        copies.append(own)
        rows.append(manifest.assign(video_id=manifest["video_id"].astype(str) + f"_{i}"))
    pd.concat(copies, ignore_index=True).to_parquet(root / "data/04_feature/clip_embeddings.parquet")
    pd.concat(rows, ignore_index=True).to_parquet(root / "data/02_intermediate/manifest.parquet")


@pytest.fixture(scope="module")
def anomaly_project(default_project: Path, tmp_path_factory) -> Path:
    root = copy_project(default_project, tmp_path_factory.mktemp("anomaly") / "project")
    _replicate(root)
    # the default project's embedding parameters: the augmented copies are encoded like its clips
    run_pipelines(root, ["anomaly"], {**FAST, "embedding": FAST_PARAMS["embedding"]})
    return root


def test_scores_and_report_cover_every_target_and_model(anomaly_project: Path):
    clips = pd.read_parquet(anomaly_project / "data/04_feature/clip_embeddings.parquet")
    targets = sorted(clips["label"].astype(str).unique())
    scores = pd.read_parquet(anomaly_project / "data/07_model_output/anomaly_scores.parquet")
    pairs = {(t, m) for t in targets for m in MODELS}
    assert set(map(tuple, scores[["target", "model"]].drop_duplicates().to_numpy())) == pairs
    assert (scores.groupby(["target", "model"]).size() == len(clips)).all()
    assert np.isfinite(scores["score"]).all()
    assert (scores["flagged"] == (scores["score"] >= scores["threshold"])).all()
    report = pd.read_csv(anomaly_project / "data/08_reporting/anomaly_report.csv")
    assert set(map(tuple, report[["target", "model"]].drop_duplicates().to_numpy())) == pairs
    others = report[report["comparison"] == "all_others"]
    assert len(others) == len(pairs) and others["roc_auc"].between(0, 1).all()
    assert report["fpr"].between(0, 1).all()
    plots = {p.stem for p in (anomaly_project / "data/08_reporting/anomaly").glob("*.png")}
    expected = {f"{t}__{m}__{kind}" for t, m in pairs for kind in ("scores", "roc")} | {
        *(f"{t}__loss" for t in targets), *(f"{t}__sequence_autoencoder__frames" for t in targets)}
    assert expected <= plots
    assert plots - expected - {f"{t}__{m}__confusion" for t, m in pairs} == set()


def test_competitive_class_is_the_nearest_other_label_and_is_reported(anomaly_project: Path):
    scores = pd.read_parquet(anomaly_project / "data/07_model_output/anomaly_scores.parquet")
    report = pd.read_csv(anomaly_project / "data/08_reporting/anomaly_competitive_report.csv")
    for (target, model), own in scores.groupby(["target", "model"]):
        (competitive,) = own["competitive"].unique()
        assert competitive in set(own["label"]) - {target}
        # nearest: no other label's validation clips sit lower against the target's validation scores
        normal_val = own[(own["label"] == target) & (own["variant"] == "correct") & (own["split"] == "val")]
        val = own[own["split"] == "val"]
        aucs = {label: roc_auc_score(np.r_[np.zeros(len(normal_val)), np.ones(len(rows))],
                                     np.r_[normal_val["score"], rows["score"]])
                for label, rows in val[val["label"] != target].groupby("label")}  # fmt: skip
        assert aucs[competitive] == pytest.approx(min(aucs.values()))
        rows = report[(report["target"] == target) & (report["model"] == model)]
        assert set(rows["competitive"]) == {competitive}
        test = own[own["split"] == "test"]
        flagged = test["score"] >= own["threshold"].iloc[0]
        correct_target = test[(test["label"] == target) & (test["variant"] == "correct")]
        recall = (~flagged[correct_target.index]).mean()  # target clips kept as the target
        assert rows.set_index("class").loc[target, "recall"] == pytest.approx(recall)
        assert rows.set_index("class").loc[competitive, "support"] == (test["label"] == competitive).sum()
        assert (anomaly_project / f"data/08_reporting/anomaly/{target}__{model}__confusion.png").is_file()


def test_threshold_is_the_percentile_of_the_targets_validation_scores(anomaly_project: Path):
    scores = pd.read_parquet(anomaly_project / "data/07_model_output/anomaly_scores.parquet")
    for (target, _model), own in scores.groupby(["target", "model"]):
        val = own[(own["label"] == target) & (own["variant"] == "correct") & (own["split"] == "val")]
        assert len(val) >= 2 * COPIES  # every correct val clip of the default project, copied
        assert own["threshold"].iloc[0] == pytest.approx(np.percentile(val["score"], 90.0))


def _sequences(root: Path, clips: pd.DataFrame) -> list[np.ndarray]:
    store = ItemStoreDataset(path=str(root / "data/04_feature/frame_features"), suffix=".npz").load()
    return [np.asarray(stored_sequence(store, k), np.float32) for k in clips["feature_key"]]


def test_saved_scorers_load_safely_and_score_like_the_run(anomaly_project: Path):
    clips = pd.read_parquet(anomaly_project / "data/04_feature/clip_embeddings.parquet")
    x = np.stack(clips["embedding"].to_numpy()).astype(np.float64)
    sequences = _sequences(anomaly_project, clips)
    scores = pd.read_parquet(anomaly_project / "data/07_model_output/anomaly_scores.parquet")
    files = sorted((anomaly_project / "data/06_models/anomaly").glob("*.pt"))
    assert len(files) == scores[["target", "model"]].drop_duplicates().shape[0]
    for path in files:
        blob = torch.load(path, weights_only=True)
        target, model = path.stem.split("__")
        assert (blob["target"], blob["scorer"]) == (target, model)
        own = scores[(scores["target"] == target) & (scores["model"] == model)]
        assert blob["threshold"] == pytest.approx(own["threshold"].iloc[0])
        scorer = scorer_from_blob(blob)
        again = scorer.score(sequences if scorer.input == FRAME_FEATURES else x)
        np.testing.assert_allclose(again, own["score"].to_numpy(), rtol=1e-4, atol=1e-5)


def test_sequence_autoencoder_frame_errors_are_its_scores_per_frame(anomaly_project: Path):
    """The per-frame errors behind the figure: a few test clips per group (the target's correct
    and incorrect ones, another action), never a train or val clip, whose mean is the clip score."""
    errors = pd.read_parquet(anomaly_project / "data/07_model_output/anomaly_frame_errors.parquet")
    scores = pd.read_parquet(anomaly_project / "data/07_model_output/anomaly_scores.parquet")
    clips = pd.read_parquet(anomaly_project / "data/04_feature/clip_embeddings.parquet")
    assert set(errors["model"]) == {"sequence_autoencoder"}
    assert set(errors["target"]) == set(clips["label"])
    for target, own in errors.groupby("target"):
        groups = own.drop_duplicates("video_id").set_index("group")
        assert groups.index.str.startswith("other (").sum() == 1 and {"correct", "incorrect"} <= set(groups.index)
        assert (groups.loc["correct", "label"], groups.loc["incorrect", "variant"]) == (target, "incorrect")
        assert not ((own["label"] == target) & (own["variant"] == "correct") & (own["split"] != "test")).any()
        clip_scores = scores[(scores["target"] == target) & (scores["model"] == "sequence_autoencoder")]
        by_video = clip_scores.set_index("video_id")["score"]
        mean = own.groupby("video_id")["error"].mean()  # clip_reduction: mean
        np.testing.assert_allclose(mean.to_numpy(), by_video.loc[mean.index].to_numpy(), rtol=1e-4)


def test_augmented_copies_are_of_correct_train_clips_only(anomaly_project: Path):
    augmented = pd.read_parquet(anomaly_project / "data/05_model_input/anomaly_augmented_clips.parquet")
    clips = pd.read_parquet(anomaly_project / "data/04_feature/clip_embeddings.parquet")
    manifest = pd.read_parquet(anomaly_project / "data/02_intermediate/manifest.parquet")
    variant = clips["video_id"].map(manifest.drop_duplicates("video_id").set_index("video_id")["variant"])
    train = clips[(clips["split"] == "train") & (variant == "correct")].set_index("video_id")
    assert sorted(augmented["video_id"]) == sorted(list(train.index) * AUGMENT_COPIES)
    assert (augmented["split"] == "train").all()
    for row in augmented.itertuples():
        original = np.asarray(train.loc[row.video_id, "embedding"])
        assert row.embedding.shape == original.shape and not np.allclose(row.embedding, original)
    assert not np.allclose(np.stack(augmented["embedding"]), np.stack(augmented["embedding"])[::-1])


def test_mlflow_metric_keys(anomaly_project: Path):
    db = sqlite3.connect(anomaly_project / "mlflow.db")
    (run,) = db.execute("select run_uuid from runs order by start_time desc limit 1").fetchone()
    keys = {k for (k,) in db.execute("select distinct key from metrics where run_uuid = ?", (run,))}
    scores = pd.read_parquet(anomaly_project / "data/07_model_output/anomaly_scores.parquet")
    for target, model in scores[["target", "model"]].drop_duplicates().to_numpy():
        assert {f"anomaly.{target}.{model}.roc_auc.all_others", f"anomaly.{target}.{model}.fpr"} <= keys


def test_loss_histories_and_scorer_files_in_mlflow(anomaly_project: Path):
    """Each trained scorer's per-epoch train and val loss as MLflow metrics (step = epoch, the
    values of anomaly_history.csv), and the scorer files as artifacts of the run."""
    history = pd.read_csv(anomaly_project / "data/08_reporting/anomaly_history.csv")
    assert set(history["model"]) == set(TRAINED)
    db = sqlite3.connect(anomaly_project / "mlflow.db")
    (run,) = db.execute("select run_uuid from runs order by start_time desc limit 1").fetchone()
    for (target, model), own in history.groupby(["target", "model"]):
        for loss in ("train_loss", "val_loss"):
            logged = db.execute("select step, value from metrics where run_uuid = ? and key = ? order by step",
                                (run, f"anomaly.{target}.{model}.{loss}")).fetchall()  # fmt: skip
            assert [s for s, _ in logged] == own["epoch"].tolist()
            np.testing.assert_allclose([v for _, v in logged], own[loss].to_numpy(), rtol=1e-6)
    client = mlflow.MlflowClient(f"sqlite:///{anomaly_project / 'mlflow.db'}")
    artifacts = {Path(a.path).name for a in client.list_artifacts(run, "models/anomaly")}
    assert artifacts == {p.name for p in (anomaly_project / "data/06_models/anomaly").glob("*.pt")}
    plots = {Path(a.path).name for a in client.list_artifacts(run, "plots/anomaly")}
    assert plots == {p.name for p in (anomaly_project / "data/08_reporting/anomaly").glob("*.png")}
