"""One-class scorers: a far outlier scores highest, the registry, saving without pickle, the
autoencoder's best checkpoint, seeding and devices."""

from __future__ import annotations

import io
from functools import partial

import numpy as np
import pytest
import torch

from actionlab.anomaly import SCORERS, TRAINED, build_scorer, scorer_blob, scorer_from_blob
from actionlab.anomaly.scorers import out_of_fold_scores
from actionlab.models.autoencoder import EmbeddingAutoencoder

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
EMBEDDING_SCORERS = [name for name, cls in SCORERS.items() if cls.input == "embedding"]
FAST_TRAIN = {"epochs": 40, "patience": 40, "batch_size": 32, "lr": 3e-3}
SMALL_AE = {"hidden": [16, 4], "dropout": 0.0}


def _toy(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A correlated Gaussian cluster in 8-D (train, val) and test points: 5 from the cluster and
    one far outlier (last)."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(8, 8))
    cluster = rng.normal(size=(260, 8)) @ mix + 3.0
    train, val, inliers = cluster[:200], cluster[200:254], cluster[254:259]
    outlier = cluster.mean(0) + 12.0 * cluster.std(0)
    return train, val, np.vstack([inliers, outlier])


def _fit(name: str, seed: int = 0, device: str = "cpu"):
    train, val, test = _toy()
    config = SMALL_AE if name == "autoencoder" else {"k": 3} if name == "knn" else {}
    scorer = build_scorer(name, config, seed=seed, train=FAST_TRAIN, device=device).fit(train, val)
    return scorer, test


@pytest.mark.parametrize("name", EMBEDDING_SCORERS)
def test_far_outlier_scores_highest(name: str) -> None:
    scorer, test = _fit(name)
    scores = scorer.score(test)
    assert scores.shape == (6,)
    assert int(np.argmax(scores)) == 5
    assert scores[5] > scores[:5].max()


@pytest.mark.parametrize("name", EMBEDDING_SCORERS)
def test_blob_round_trip_gives_identical_scores(name: str) -> None:
    scorer, test = _fit(name)
    buffer = io.BytesIO()
    torch.save(scorer_blob(scorer, threshold=1.5, target="squat"), buffer)
    buffer.seek(0)
    blob = torch.load(buffer, weights_only=True)  # no pickle of arbitrary objects
    assert blob["scorer"] == name and blob["threshold"] == 1.5 and blob["target"] == "squat"
    restored = scorer_from_blob(blob)
    np.testing.assert_array_equal(restored.score(test), scorer.score(test))


def test_registry() -> None:
    assert set(SCORERS) == {"autoencoder", "sequence_autoencoder", "knn", "mahalanobis",
                            "isolation_forest", "ocsvm"}  # fmt: skip
    assert all(cls.name == name for name, cls in SCORERS.items())
    assert set(TRAINED) == {"autoencoder", "sequence_autoencoder"}
    with pytest.raises(ValueError, match="unknown anomaly scorer"):
        build_scorer("lof")


def test_knn_score_is_the_mean_distance_to_the_k_nearest() -> None:
    """In standardised units: brute-force distances to every training point."""
    train, _, test = _toy()
    scorer = build_scorer("knn", {"k": 4}).fit(train)
    mean, std = train.mean(0), train.std(0)
    z_train, z_test = (train - mean) / std, (test - mean) / std
    distances = np.linalg.norm(z_test[:, None] - z_train[None], axis=-1)
    expected = np.sort(distances, 1)[:, :4].mean(1)
    np.testing.assert_allclose(scorer.score(test), expected, rtol=1e-9)


def test_scale_floor_keeps_a_nearly_constant_dimension_from_dominating() -> None:
    """Dimension 0 is almost constant in training (a rarely voted flow cell): without a floor a
    clip that moves it slightly outscores one that is far off in the other dimensions."""
    rng = np.random.default_rng(0)
    train = np.c_[rng.normal(0.0, 1e-4, 100), rng.normal(size=(100, 4))]
    nudged = np.r_[0.01, np.zeros(4)]  # 100 training stds in dimension 0, 0.01 in absolute terms
    far = np.r_[0.0, np.full(4, 5.0)]  # 5 stds in each of the others
    test = np.vstack([nudged, far])
    plain = build_scorer("knn", {"k": 3}).fit(train).score(test)
    floored = build_scorer("knn", {"k": 3, "scale_floor": 0.1}).fit(train).score(test)
    assert plain[0] > plain[1] and floored[1] > floored[0]
    # the floored scale is sqrt(std^2 + (0.1 * median std)^2), per dimension
    scorer = build_scorer("mahalanobis", {"scale_floor": 0.1}).fit(train)
    std = train.std(0)
    np.testing.assert_allclose(scorer.scaler.scale_, np.sqrt(std**2 + (0.1 * np.median(std)) ** 2))
    restored = scorer_from_blob(scorer_blob(scorer))
    np.testing.assert_allclose(restored.score(test), scorer.score(test))


def test_autoencoder_keeps_the_best_validation_checkpoint() -> None:
    scorer, _ = _fit("autoencoder")
    train, val, _ = _toy()
    history = scorer.history
    assert list(history.columns) == ["epoch", "train_loss", "val_loss"]
    assert len(history) == FAST_TRAIN["epochs"] and history["val_loss"].notna().all()
    assert history["train_loss"].iloc[-5:].mean() < history["train_loss"].iloc[:5].mean()
    # the kept state is the epoch with the lowest validation error, not the last one
    assert scorer.score(val).mean() == pytest.approx(history["val_loss"].min(), rel=1e-5)


def test_autoencoder_without_validation_holds_out_a_share() -> None:
    train, _, _ = _toy()
    scorer = build_scorer("autoencoder", SMALL_AE, train={**FAST_TRAIN, "epochs": 3, "val_share": 0.25},
                          device="cpu").fit(train)  # fmt: skip
    assert scorer.history["val_loss"].notna().all()


def test_autoencoder_architecture_and_standardisation() -> None:
    train, val, _ = _toy()
    scorer = build_scorer("autoencoder", {"hidden": [16, 4], "dropout": 0.2}, train={**FAST_TRAIN, "epochs": 1},
                          device="cpu").fit(train, val)  # fmt: skip
    model = scorer.model
    assert isinstance(model, EmbeddingAutoencoder)
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(8, 16), (16, 4), (4, 16), (16, 8)]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules()) == 3
    assert isinstance(model.decoder[-1], torch.nn.Linear)  # linear output
    np.testing.assert_allclose(model.norm_in.mean.numpy(), train.mean(0), rtol=1e-5)


def test_autoencoder_sum_reduction_is_features_times_mean() -> None:
    train, val, test = _toy()
    scores = {}
    for reduction in ("mean", "sum"):
        config = {**SMALL_AE, "reduction": reduction}
        scorer = build_scorer("autoencoder", config, train={**FAST_TRAIN, "epochs": 2, "lr": 0.0}, device="cpu")
        scores[reduction] = scorer.fit(train, val).score(test)  # lr 0: same weights both times
    np.testing.assert_allclose(scores["sum"], 8 * scores["mean"], rtol=1e-5)


@pytest.mark.parametrize("name", ["autoencoder", "isolation_forest"])
def test_seeded(name: str) -> None:
    a, test = _fit(name, seed=3)
    b, _ = _fit(name, seed=3)
    np.testing.assert_array_equal(a.score(test), b.score(test))


def test_autoencoder_on_cpu() -> None:
    scorer, _ = _fit("autoencoder", device="cpu")
    assert all(p.device.type == "cpu" for p in scorer.model.parameters())


@CUDA
def test_autoencoder_on_cuda() -> None:
    scorer, test = _fit("autoencoder", device="cuda")
    assert all(p.device.type == "cuda" for p in scorer.model.parameters())
    assert int(np.argmax(scorer.score(test))) == 5
    restored = scorer_from_blob(scorer_blob(scorer), device="cpu")  # a CUDA-trained blob loads on the CPU
    np.testing.assert_allclose(restored.score(test), scorer.score(test), rtol=1e-4)


def test_out_of_fold_scores_come_from_scorers_that_did_not_see_the_item() -> None:
    x = np.random.default_rng(3).normal(size=(9, 4))
    make = partial(build_scorer, "knn", {"k": 1, "scale_floor": 0.0})
    oof = out_of_fold_scores(make, x, folds=9, seed=0)  # leave-one-out
    for i in range(len(x)):
        others = np.delete(x, i, axis=0)
        assert oof[i] == pytest.approx(make().fit(others).score(x[i : i + 1])[0])
    in_sample = make().fit(x).score(x)
    assert np.allclose(in_sample, 0.0) and (oof > 0).all()  # a 1-NN sees itself in sample
    lists = out_of_fold_scores(make, list(x), folds=3, seed=0)  # a list of items works the same
    np.testing.assert_allclose(lists, out_of_fold_scores(make, x, folds=3, seed=0))
    with pytest.raises(ValueError, match="at least 3"):
        out_of_fold_scores(make, x[:2])
