"""ClipDataset: training windows (random start, fixed stride), evaluation views, short clips,
reading lazily from a clip store built from the clip index, and DataLoader workers."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from actionlab.engine import PartitionStore
from actionlab.manifest import ACCEPTED, REJECTED
from actionlab.models.clip_data import ArrayClips, ClipDataset, StoreClips
from actionlab.video.clipfile import ClipWriter
from tests.models.clip_helpers import frame_ids


def _ids(item: torch.Tensor) -> list[int]:
    """Frame indices read back from a ``frame_ids`` window (float in [0, 1])."""
    return [round(float(v) * 255) for v in item[:, 0, 0, 0]]


def _data(lengths: list[int], **options) -> ClipDataset:
    clips = [frame_ids(n) for n in lengths]
    keys = [str(i) for i in range(len(clips))]
    return ClipDataset(keys, lengths, [0] * len(clips), ArrayClips(clips), size=8, **options)


def test_training_windows_have_a_fixed_stride_and_a_random_start_per_epoch() -> None:
    data = _data([40, 40], frames_per_clip=5, stride=3, train=True, seed=7)
    assert len(data) == 2
    starts = set()
    for epoch in range(12):
        data.set_epoch(epoch)
        ids = _ids(data[0][0])
        assert np.all(np.diff(ids) == 3) and 0 <= ids[0] <= 40 - 13
        starts.add(ids[0])
    assert len(starts) > 3  # the start changes with the epoch
    data.set_epoch(3)
    again = _data([40, 40], frames_per_clip=5, stride=3, train=True, seed=7)
    again.set_epoch(3)
    assert _ids(data[1][0]) == _ids(again[1][0])  # seeded: the same windows


def test_several_training_windows_per_clip_each_with_its_own_start() -> None:
    data = _data([40, 30], frames_per_clip=5, stride=3, train=True, windows=4, views=2, seed=1)
    assert len(data) == 8  # windows per clip in training, not views
    firsts = [_ids(data[i][0]) for i in range(4)]
    assert all(np.all(np.diff(ids) == 3) and 0 <= ids[0] <= 40 - 13 for ids in firsts)
    assert len({ids[0] for ids in firsts}) > 1  # not four copies of one window
    assert all(_ids(data[i][0])[0] <= 30 - 13 for i in range(4, 8))  # items 4-7: the 30-frame clip
    assert len(data.with_views(3)) == 6  # evaluation: views per clip


def test_evaluation_views_are_evenly_spaced_over_the_clip() -> None:
    data = _data([21], frames_per_clip=4, stride=2, views=3)
    assert len(data) == 3
    assert [_ids(data[v][0]) for v in range(3)] == [[0, 2, 4, 6], [7, 9, 11, 13], [14, 16, 18, 20]]
    middle = data.with_views(1)
    assert len(middle) == 1 and _ids(middle[0][0]) == [7, 9, 11, 13]


def test_a_short_clip_is_resampled_to_the_window_length() -> None:
    data = _data([3], frames_per_clip=6, stride=2, train=True)
    item, _ = data[0]
    assert item.shape == (6, 3, 8, 8)
    assert _ids(item) == [0, 0, 1, 1, 2, 2]


def test_items_are_float_frames_in_unit_range_resized_to_size() -> None:
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, size=(10, 32, 32, 3), dtype=np.uint8)
    data = ClipDataset(["0"], [10], [1], ArrayClips([clip]), frames_per_clip=4, stride=2, size=16)
    item, label = data[0]
    assert item.shape == (4, 3, 16, 16) and item.dtype == torch.float32 and label == 1
    assert 0.0 <= float(item.min()) and float(item.max()) <= 1.0
    with pytest.raises(IndexError):
        data[1]


def _store(root: Path, clips: dict[str, np.ndarray]) -> PartitionStore:
    store = PartitionStore(root, suffix=".h5")
    for key, frames in clips.items():
        with store.writing(key) as path, ClipWriter(path) as writer:
            writer.append(frames, np.arange(len(frames)), np.arange(len(frames)) / 10.0)
        store.write_record(key, {"frames": len(frames)})
    return store


def test_from_index_reads_accepted_clips_of_the_splits_from_the_store(tmp_path: Path) -> None:
    clips = {"a": frame_ids(30, 16), "b": frame_ids(12, 16), "c": frame_ids(20, 16)}
    store = _store(tmp_path / "clips", clips)
    index = pd.DataFrame(
        {
            "clip_key": ["a", "b", "c", "d"],
            "clip_frames": [30, 12, 20, 0],
            "label": ["wave", "clap", "wave", "clap"],
            "split": ["test", "test", "train", "test"],
            "status": [ACCEPTED, ACCEPTED, ACCEPTED, REJECTED],
        }
    )
    data = ClipDataset.from_index(
        index, store, ["clap", "wave"], ["test"], frames_per_clip=4, stride=3, size=16, views=2
    )
    assert data.keys == ["a", "b"] and data.labels.tolist() == [1, 0]
    assert [_ids(data[i][0]) for i in range(4)] == [
        [0, 3, 6, 9], [20, 23, 26, 29], [0, 3, 6, 9], [2, 5, 8, 11],
    ]  # fmt: skip
    loader = DataLoader(data, batch_size=2, num_workers=2)  # the reader is pickled to workers
    batches = list(loader)
    assert [tuple(b[0].shape) for b in batches] == [(2, 4, 3, 16, 16)] * 2
    assert torch.equal(torch.cat([b[1] for b in batches]), torch.tensor([1, 1, 0, 0]))
    with pytest.raises(ValueError, match=r"\['clap'\] are not among the classes"):
        ClipDataset.from_index(index, store, ["wave"], ["test"])


def test_store_reader_reads_only_the_window(tmp_path: Path) -> None:
    store = _store(tmp_path / "clips", {"k": frame_ids(40, 8)})
    window = StoreClips(store)("k", 17, 21)
    assert window.shape == (4, 8, 8, 3) and window[:, 0, 0, 0].tolist() == [17, 18, 19, 20]


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="one of each per clip"):
        ClipDataset(["0", "1"], [5], [0, 1], ArrayClips([frame_ids(5)]))
    with pytest.raises(ValueError, match="at least one frame"):
        ClipDataset(["0"], [0], [0], ArrayClips([frame_ids(5)]))


def test_subset_keeps_the_chosen_clips_with_their_labels_and_lengths() -> None:
    clips = [frame_ids(n) for n in (5, 9, 13)]
    data = ClipDataset(["0", "1", "2"], [5, 9, 13], [0, 1, 2], ArrayClips(clips), views=2)
    part = data.subset([2, 0])
    assert part.keys == ["2", "0"] and part.lengths == [13, 5] and part.labels.tolist() == [2, 0]
    assert len(part) == 4 and len(data) == 6
    assert _ids(part[1][0]) == _ids(data[5][0])  # the second view of clip "2"
    assert len(data.subset([])) == 0
