"""train_simsiam on tiny random data: history, reproducibility, config checks, window sampling."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from actionlab.models import FrameEncoder, sample_windows, train_simsiam
from actionlab.models.ssl_train import HISTORY_COLUMNS, resolve_config

TINY = {
    "input_size": 32,
    "proj_dim": 64,
    "pred_hidden": 16,
    "epochs": 2,
    "batch_size": 8,
    "frames_per_clip": 8,
    "num_threads": 1,
}


def _clips(n: int = 2, t: int = 10, size: int = 24, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, size=(t, size, size, 3), dtype=np.uint8) for _ in range(n)]


@pytest.fixture(scope="module")
def windows() -> np.ndarray:
    return sample_windows(_clips(), TINY, seed=0)


def _frame_ids(t: int = 10, size: int = 4) -> np.ndarray:
    """A clip whose frame i is filled with the value i (to read indices back)."""
    return np.broadcast_to(np.arange(t, dtype=np.uint8)[:, None, None, None], (t, size, size, 3))


def test_sample_windows_shapes_and_neighbours() -> None:
    clips = _clips(n=3, t=10)
    single = sample_windows(clips, {**TINY, "diff_step": 2, "pair_gap": 0}, seed=0)
    # roi "motion" (the default) cuts every clip to input_size x input_size
    assert single.shape == (24, 5, 32, 32, 3) and single.dtype == np.uint8
    full = {"diff_step": 2, "pair_gap": 0, "roi": "full"}
    ids = sample_windows([_frame_ids()], full, seed=0)[:, :, 0, 0, 0]
    # all centres, neighbours clamped to the clip
    np.testing.assert_array_equal(ids[0], [0, 0, 0, 1, 2])
    np.testing.assert_array_equal(ids[5], [3, 4, 5, 6, 7])
    np.testing.assert_array_equal(ids[9], [7, 8, 9, 9, 9])
    rgb = sample_windows(
        clips, {**TINY, "input_mode": "rgb", "pair_gap": 0, "frames_per_clip": None, "roi": "full"}
    )
    assert rgb.shape == (30, 1, 24, 24, 3)


def test_sample_window_pairs_are_temporal_neighbours() -> None:
    pairs = sample_windows([_frame_ids(t=20)], {"pair_gap": 3, "roi": "full"}, seed=1)
    assert pairs.shape == (20, 2, 3, 4, 4, 3)
    centre, partner = pairs[:, 0, 1, 0, 0, 0].astype(int), pairs[:, 1, 1, 0, 0, 0].astype(int)
    gap = np.abs(partner - centre)
    assert gap.min() >= 1 and gap.max() <= 3


def test_sample_windows_rejects_non_uint8() -> None:
    with pytest.raises(ValueError, match="uint8"):
        sample_windows([np.zeros((4, 8, 8, 3), np.float32)])


def test_train_history_and_encoder(windows: np.ndarray) -> None:
    assert windows.ndim == 6  # default pair_gap > 0: window pairs
    seen: list[tuple[int, dict]] = []
    enc, hist = train_simsiam(
        windows,
        config=TINY,
        device="cpu",
        seed=0,
        progress=False,
        on_epoch=lambda e, m: seen.append((e, m)),
    )
    assert isinstance(hist, pd.DataFrame)
    assert list(hist.columns) == HISTORY_COLUMNS
    assert hist["epoch"].tolist() == [1, 2]
    assert np.isfinite(hist[["loss", "collapse_std", "lr"]].to_numpy()).all()
    assert ((hist["loss"] >= -1) & (hist["loss"] <= 1)).all()
    assert [e for e, _ in seen] == [1, 2] and seen[0][1]["loss"] == hist["loss"][0]
    assert isinstance(enc, FrameEncoder) and not enc.training
    assert next(enc.parameters()).device.type == "cpu"
    assert enc.config["input_size"] == 32 and enc.config["input_mode"] == "diff"
    assert torch.get_num_threads() == 1  # restored (conftest sets 1)


def test_same_seed_same_history(windows: np.ndarray) -> None:
    cfg = {**TINY, "epochs": 1}
    runs = [
        train_simsiam(windows, config=cfg, device="cpu", seed=s, progress=False) for s in (3, 3, 4)
    ]
    pd.testing.assert_frame_equal(
        runs[0][1].drop(columns="seconds"), runs[1][1].drop(columns="seconds")
    )
    assert not np.allclose(runs[0][1]["loss"], runs[2][1]["loss"])


def test_rgb_mode_with_adam_and_warmup() -> None:
    frames = sample_windows(_clips(), {**TINY, "input_mode": "rgb"})
    cfg = {
        **TINY,
        "input_mode": "rgb",
        "optimizer": "adam",
        "lr": 1e-3,
        "warmup_epochs": 1,
        "pair_gap": 0,
    }
    enc, hist = train_simsiam(frames, config=cfg, device="cpu", progress=False)
    assert enc.prepare(_clips(1)[0]).shape == (10, 3, 32, 32)
    assert hist["lr"].iloc[0] == pytest.approx(1e-3)  # end of the warm-up epoch = peak
    assert hist["lr"].iloc[1] < 1e-3


def test_wrong_frames_shape_raises() -> None:
    frames = sample_windows(_clips(), {**TINY, "pair_gap": 0})  # windows of 3 frames
    with pytest.raises(ValueError, match="window pairs"):
        train_simsiam(frames, config={**TINY, "diff_step": 2}, device="cpu", progress=False)


def test_missing_weights_path_names_parameter(windows: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "missing.pth"
    with pytest.raises(FileNotFoundError, match=r"ssl_training\.weights_path") as err:
        train_simsiam(windows, config={**TINY, "weights_path": str(path)}, device="cpu")
    assert str(path) in str(err.value)


def test_config_checks() -> None:
    with pytest.raises(ValueError, match="Unknown ssl_training keys"):
        resolve_config({"epoch": 3})
    with pytest.raises(ValueError, match="optimizer"):
        resolve_config({"optimizer": "lamb"})
