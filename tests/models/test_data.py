"""ClipWindows: every sample once per epoch across workers, one clip per worker, seeded order."""

from __future__ import annotations

import functools
import os
import pickle
import weakref
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from actionlab.models.data import ClipWindows, make_loader
from actionlab.models.ssl_train import _batches, resolve_config, sample_windows

# roi "full" and frames as large as the input keep pixel values, so samples can be read back
IDS = resolve_config({"roi": "full", "input_size": 4, "diff_step": 1, "pair_gap": 2})


def _id_clips(lengths: tuple[int, ...] = (7, 5, 9, 6, 8), size: int = 4) -> list[np.ndarray]:
    """Clips whose frame t of clip c has channel 0 = t and channel 1 = c."""
    clips = []
    for c, t_len in enumerate(lengths):
        clip = np.zeros((t_len, size, size, 3), np.uint8)
        clip[..., 0] = np.arange(t_len, dtype=np.uint8)[:, None, None]
        clip[..., 1] = c
        clips.append(clip)
    return clips


def _centres(samples: list[np.ndarray]) -> list[tuple[int, int]]:
    """(clip, frame) of the centre of each sample's first window."""
    out = []
    for s in samples:
        first = s[0] if s.ndim == 5 else s  # pairs: (2, L, h, w, 3)
        centre = first[first.shape[0] // 2, 0, 0]
        out.append((int(centre[1]), int(centre[0])))
    return out


def _epoch(dataset: ClipWindows, workers: int, epoch: int = 0) -> list[np.ndarray]:
    dataset.set_epoch(epoch)
    loader = make_loader(dataset, 3, num_workers=workers, prefetch=2)
    return [s for batch in loader for s in batch.numpy()]


@pytest.mark.parametrize("per_clip", [None, 4])
def test_every_sample_exactly_once_per_epoch_across_two_workers(per_clip: int | None) -> None:
    clips = _id_clips()
    ds = ClipWindows.from_arrays(clips, {**IDS, "frames_per_clip": per_clip}, seed=5)
    samples = _epoch(ds, workers=2)
    counts = Counter(_centres(samples))
    assert len(samples) == ds.num_samples == sum(min(per_clip or 99, len(c)) for c in clips)
    assert max(counts.values()) == 1  # no (clip, frame) twice
    per = Counter(c for c, _ in counts)
    assert per == {c: min(per_clip or 99, len(clip)) for c, clip in enumerate(clips)}
    if per_clip is None:
        assert set(counts) == {(c, t) for c, clip in enumerate(clips) for t in range(len(clip))}
    # the samples of an epoch do not depend on the workers, only their order does
    in_process = _epoch(ds, workers=0)
    key = sorted(s.tobytes() for s in samples)
    assert key == sorted(s.tobytes() for s in in_process)


def test_windows_and_pairs_are_built_from_the_clip() -> None:
    (sample,) = _epoch(ClipWindows.from_arrays(_id_clips((1,)), IDS), workers=0)
    assert sample.shape == (2, 3, 4, 4, 3)  # pair of windows of 3 frames, neighbours clamped
    ds = ClipWindows.from_arrays(_id_clips((10,)), {**IDS, "pair_gap": 2}, seed=1)
    for s in _epoch(ds, workers=0):
        frames = s[..., 0, 0, 0].astype(int)  # (2, 3) frame indices
        centre, partner = frames[0, 1], frames[1, 1]
        assert 1 <= abs(partner - centre) <= 2
        np.testing.assert_array_equal(frames[0], np.clip(centre + np.arange(-1, 2), 0, 9))


class TrackingReader:
    """Reads in-memory clips and logs, per process, how many clips it returned are still alive
    when it is asked for the next one."""

    def __init__(self, clips: list[np.ndarray], log_dir: Path) -> None:
        self.clips = clips
        self.log_dir = log_dir
        self.returned: list[weakref.ref] = []

    def __call__(self, key: str) -> dict[str, np.ndarray]:
        alive = sum(ref() is not None for ref in self.returned)
        with open(self.log_dir / f"reads-{os.getpid()}.log", "a") as log:
            log.write(f"{key} {alive}\n")
        frames = self.clips[int(key)].copy()
        self.returned.append(weakref.ref(frames))
        return {"frames": frames, "indices": np.arange(len(frames))}


@pytest.mark.parametrize(("workers", "roi"), [(0, "motion"), (2, "full")])
def test_no_worker_holds_more_than_one_clip(workers: int, roi: str, tmp_path: Path) -> None:
    clips = _id_clips()
    cfg = {**IDS, "roi": roi, "frames_per_clip": 3}
    read = TrackingReader(clips, tmp_path)
    ds = ClipWindows(
        [str(i) for i in range(len(clips))], read, cfg, lengths=[len(c) for c in clips]
    )
    assert not list(tmp_path.iterdir())  # lengths given: nothing read up front
    assert len(_epoch(ds, workers)) == ds.num_samples == 15
    logs = sorted(tmp_path.iterdir())
    reads = [line.split() for log in logs for line in log.read_text().splitlines()]
    assert sorted(int(key) for key, _ in reads) == list(range(len(clips)))  # each clip once
    assert all(alive == "0" for _, alive in reads)  # the previous clip was released first
    assert len(logs) == max(workers, 1)  # the clips were shared among the workers


def test_same_seed_same_stream_and_epochs_differ() -> None:
    def stream(seed: int, epoch: int, workers: int = 0) -> list[bytes]:
        ds = ClipWindows.from_arrays(_id_clips(), {**IDS, "frames_per_clip": 4}, seed=seed)
        return [s.tobytes() for s in _epoch(ds, workers, epoch)]

    assert stream(1, 0) == stream(1, 0)
    assert stream(1, 0, workers=2) == stream(1, 0, workers=2)
    assert stream(1, 0) != stream(1, 1) and stream(1, 0) != stream(2, 0)
    # the shuffle buffer mixes clips: more runs of one clip than there are clips
    ds = ClipWindows.from_arrays(_id_clips(), {**IDS, "frames_per_clip": 4}, seed=1)
    order = [c for c, _ in _centres(_epoch(ds, workers=0))]
    runs = sum(a != b for a, b in zip(order, order[1:], strict=False)) + 1
    assert runs > len(_id_clips())


def test_sample_windows_is_the_unshuffled_first_epoch() -> None:
    clips = _id_clips()
    cfg = {**IDS, "frames_per_clip": 3, "pair_gap": 1}
    stacked = np.stack(list(ClipWindows.from_arrays(clips, cfg, seed=4, shuffle=False)))
    np.testing.assert_array_equal(stacked, sample_windows(clips, cfg, seed=4))


def _read_frames(clips: list[np.ndarray], key: str) -> np.ndarray:
    return clips[int(key)]


def test_pickles_for_worker_processes_with_a_partial_reader() -> None:
    clips = _id_clips()
    read = functools.partial(_read_frames, clips)
    keys = [str(i) for i in range(len(clips))]
    ds = ClipWindows(keys, read, IDS, seed=2, lengths=[len(c) for c in clips])
    copy = pickle.loads(pickle.dumps(ds))
    assert [s.tobytes() for s in copy] == [s.tobytes() for s in ds]


def test_lengths_from_a_function_or_by_reading_and_checked_on_read() -> None:
    clips = _id_clips((4, 6))
    keys = ["0", "1"]
    read = functools.partial(_read_frames, clips)
    assert ClipWindows(keys, read, IDS).lengths == [4, 6]  # read once to count
    assert ClipWindows(keys, read, IDS, lengths=lambda k: len(clips[int(k)])).num_samples == 10
    wrong = ClipWindows(keys, read, IDS, lengths=[4, 7])
    with pytest.raises(ValueError, match=r"clip '1' has 6 frames, but its given length is 7"):
        list(wrong)
    with pytest.raises(ValueError, match="2 lengths for 1 clip"):
        ClipWindows(["0"], read, IDS, lengths=[4, 6])


def test_bad_clip_and_partial_config_raise() -> None:
    with pytest.raises(ValueError, match=r"clip '0': expected uint8"):
        list(ClipWindows.from_arrays([np.zeros((4, 4, 4, 3), np.float32)], IDS))
    with pytest.raises(ValueError, match="resolve_config"):
        ClipWindows.from_arrays(_id_clips(), {"roi": "full"})


def test_batches_are_exact_on_the_device_from_short_worker_batches() -> None:
    ds = ClipWindows.from_arrays(_id_clips(), {**IDS, "frames_per_clip": 4}, seed=0)
    loader = make_loader(ds, 3, num_workers=2, prefetch=1)  # workers: 3 clips (12 samples), 2 (8)
    batches = list(_batches(loader, 3, torch.device("cpu")))
    assert [len(b) for b in batches] == [3] * 6  # 20 samples: 6 full batches, 2 dropped
    assert all(b.device.type == "cpu" and b.dtype == torch.uint8 for b in batches)
    assert len({b.numpy().tobytes() for x in batches for b in x}) == 18
