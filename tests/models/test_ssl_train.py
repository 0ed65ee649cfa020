"""train_simsiam on tiny random clips streamed through ClipWindows: history, reproducibility with
and without loader workers, the schedule, the device, config checks, window sampling."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from actionlab.models import ClipWindows, FrameEncoder, sample_windows, ssl_train, train_simsiam
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


def _dataset(config: dict, n: int = 2, seed: int = 0) -> ClipWindows:
    return ClipWindows.from_arrays(_clips(n), resolve_config(config), seed=seed)


@pytest.fixture(scope="module")
def dataset() -> ClipWindows:
    return _dataset(TINY)


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


def test_train_history_and_encoder(dataset: ClipWindows) -> None:
    assert dataset.num_samples == 16  # 2 clips x frames_per_clip
    seen: list[tuple[int, dict]] = []
    enc, hist = train_simsiam(
        dataset,
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


def test_streaming_training_reduces_the_loss() -> None:
    cfg = {**TINY, "epochs": 4}
    _, hist = train_simsiam(_dataset(cfg, n=4), config=cfg, device="cpu", seed=0, progress=False)
    assert hist["loss"].iloc[-1] < hist["loss"].iloc[0] - 0.02


@pytest.mark.parametrize("workers", [0, 2])
def test_same_seed_same_history(workers: int) -> None:
    cfg = {**TINY, "epochs": 1, "loader_workers": workers}
    seeds = (3, 3, 4) if workers == 0 else (3, 3)
    runs = [
        train_simsiam(_dataset(cfg, seed=s), config=cfg, device="cpu", seed=s, progress=False)
        for s in seeds
    ]
    pd.testing.assert_frame_equal(
        runs[0][1].drop(columns="seconds"), runs[1][1].drop(columns="seconds")
    )
    if workers == 0:
        assert not np.allclose(runs[0][1]["loss"], runs[2][1]["loss"])


@pytest.mark.parametrize("workers", [0, 2])
def test_schedule_counts_the_steps_from_the_clip_lengths(workers: int) -> None:
    cfg = {**TINY, "loader_workers": workers, "prefetch": 1}  # 3 clips x 8 = 24 samples
    _, hist = train_simsiam(_dataset(cfg, n=3), config=cfg, device="cpu", progress=False)
    # 3 steps of 8 per epoch, 6 in all: the lr at the last step of each epoch
    peak = ssl_train.DEFAULT_CONFIG["lr"]
    expected = [peak * 0.5 * (1 + np.cos(np.pi * step / 6)) for step in (2, 5)]
    np.testing.assert_allclose(hist["lr"], expected)


def test_one_batch_at_a_time_on_the_requested_device(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int]] = []
    prepare = ssl_train._prepare_batch

    def spy(encoder: FrameEncoder, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seen.append((frames.device.type, len(frames)))
        return prepare(encoder, frames)

    monkeypatch.setattr(ssl_train, "_prepare_batch", spy)
    train_simsiam(_dataset(TINY, n=3), config=TINY, device="cpu", progress=False)
    assert seen == [("cpu", 8)] * 6  # 2 epochs x 3 steps


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without CUDA")
def test_cuda_without_cuda_names_the_fix(dataset: ClipWindows) -> None:
    with pytest.raises(ValueError, match="'auto' or 'cpu'"):
        train_simsiam(dataset, config=TINY, device="cuda", progress=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_streams_to_cuda_with_loader_workers() -> None:
    cfg = {**TINY, "loader_workers": 2}
    enc, hist = train_simsiam(_dataset(cfg, n=3), config=cfg, device="cuda", progress=False)
    assert next(enc.parameters()).device.type == "cpu"
    assert len(hist) == 2 and np.isfinite(hist["loss"]).all()


def test_rgb_mode_with_adam_and_warmup() -> None:
    cfg = {
        **TINY,
        "input_mode": "rgb",
        "optimizer": "adam",
        "lr": 1e-3,
        "warmup_epochs": 1,
        "pair_gap": 0,
    }
    enc, hist = train_simsiam(_dataset(cfg), config=cfg, device="cpu", progress=False)
    assert enc.prepare(_clips(1)[0]).shape == (10, 3, 32, 32)
    assert hist["lr"].iloc[0] == pytest.approx(1e-3)  # end of the warm-up epoch = peak
    assert hist["lr"].iloc[1] < 1e-3


def test_windows_in_memory_still_train() -> None:
    windows = sample_windows(_clips(), TINY, seed=0)
    assert windows.ndim == 6  # default pair_gap > 0: window pairs
    _, hist = train_simsiam(windows, config=TINY, device="cpu", progress=False)
    assert len(hist) == 2 and np.isfinite(hist["loss"]).all()


def test_wrong_frames_shape_raises(dataset: ClipWindows) -> None:
    frames = sample_windows(_clips(), {**TINY, "pair_gap": 0})  # windows of 3 frames
    with pytest.raises(ValueError, match="window pairs"):
        train_simsiam(frames, config={**TINY, "diff_step": 2}, device="cpu", progress=False)
    with pytest.raises(ValueError, match=r"disagree: diff_step=1 vs 2"):
        train_simsiam(dataset, config={**TINY, "diff_step": 2}, device="cpu", progress=False)


def test_missing_weights_path_names_parameter(dataset: ClipWindows, tmp_path: Path) -> None:
    path = tmp_path / "missing.pth"
    with pytest.raises(FileNotFoundError, match=r"ssl_training\.weights_path") as err:
        train_simsiam(dataset, config={**TINY, "weights_path": str(path)}, device="cpu")
    assert str(path) in str(err.value)


def test_config_checks() -> None:
    with pytest.raises(ValueError, match="Unknown ssl_training keys"):
        resolve_config({"epoch": 3})
    with pytest.raises(ValueError, match="optimizer"):
        resolve_config({"optimizer": "lamb"})
    with pytest.raises(ValueError, match=r"loader_workers=-1"):
        resolve_config({"loader_workers": -1})
    assert {"loader_workers", "prefetch"} <= set(resolve_config(None))
