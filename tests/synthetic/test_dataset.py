"""generate_dataset: files, labels.csv, readable videos, masks, group structure, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

from actionlab.synthetic import (
    LABEL_COLUMNS,
    clip_seed,
    generate_dataset,
    load_masks,
    render_clip,
    save_masks,
)

SMALL = {
    "clips_per_action": 4,
    "incorrect_per_action": 1,
    "num_actors": 2,
    "num_frames": 10,
    "size": 64,
    "fps": 10.0,
    "progress": False,
}
ACTS = ("wave", "squat", "walk")


def count_frames(path: Path) -> tuple[int, int, int]:
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    return len(frames), frames[0].width, frames[0].height


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("synthetic")
    return root, generate_dataset(root, actions=ACTS, seed=3, **SMALL)


def test_labels_table(small):
    root, table = small
    assert (
        tuple(table.columns) == LABEL_COLUMNS == ("path", "label", "group", "variant", "mask_path")
    )
    on_disk = pd.read_csv(root / "labels.csv")
    pd.testing.assert_frame_equal(on_disk, table)
    assert len(table) == len(ACTS) * (4 + 1)
    assert table.groupby(["label", "variant"]).size().to_dict() == {
        (a, v): n for a in ACTS for v, n in (("correct", 4), ("incorrect", 1))
    }
    for row in table.itertuples():
        assert not Path(row.path).is_absolute() and "\\" not in row.path
        assert row.path == f"{row.label}/{Path(row.path).name}"
        assert row.mask_path == f"masks/{row.label}/{Path(row.path).stem}.npz"
        assert ("_incorrect_" in row.path) == (row.variant == "incorrect")
    assert (table.path.str.endswith(".mp4")).all() and table.path.is_unique


def test_every_actor_does_every_action(small):
    _, table = small
    correct = table[table.variant == "correct"]
    assert set(table.group) == {"actor00", "actor01"}
    assert correct.groupby("label").group.nunique().eq(2).all()
    assert pd.crosstab(correct.label, correct.group).gt(0).all().all()


def test_videos_readable_with_right_length(small):
    root, table = small
    for rel in table.path:
        assert count_frames(root / rel) == (10, 64, 64)


def test_masks_stored_and_match_render(small):
    root, table = small
    row = table[(table.label == "squat") & (table.variant == "incorrect")].iloc[0]
    masks = load_masks(root / row.mask_path)
    assert masks.shape == (10, 64, 64) and masks.dtype == bool
    index = int(Path(row.path).stem.rsplit("_", 1)[1])
    clip = render_clip(
        "squat",
        seed=clip_seed(3, "squat", index, True),
        incorrect=True,
        actor=int(row.group[-2:]),
        num_frames=10,
        size=64,
    )
    assert np.array_equal(masks, clip.masks)
    assert clip.actor == row.group
    meta = [json.loads(line) for line in (root / "meta.jsonl").read_text().splitlines()]
    assert [m["path"] for m in meta] == list(table.path)


def test_same_seed_same_files_and_stable_under_added_actions(small, tmp_path):
    root, table = small
    again = generate_dataset(tmp_path / "again", actions=("clap", *ACTS), seed=3, **SMALL)
    for row in table.itertuples():  # adding an action leaves existing clips byte-identical
        assert (tmp_path / "again" / row.path).read_bytes() == (root / row.path).read_bytes()
        assert np.array_equal(
            load_masks(tmp_path / "again" / row.mask_path), load_masks(root / row.mask_path)
        )
    assert set(again.label) == {"clap", *ACTS}
    other = generate_dataset(tmp_path / "other", actions=("wave",), seed=4, **SMALL)
    assert (tmp_path / "other" / other.path[0]).read_bytes() != (root / table.path[0]).read_bytes()


def test_load_masks_accepts_plain_bool(tmp_path):
    masks = np.random.default_rng(0).random((3, 5, 13)) > 0.5
    np.savez_compressed(tmp_path / "plain.npz", masks=masks)
    assert np.array_equal(load_masks(tmp_path / "plain.npz"), masks)
    save_masks(tmp_path / "packed.npz", masks)
    assert np.array_equal(load_masks(tmp_path / "packed.npz"), masks)


def test_rejects_unknown_action(tmp_path):
    with pytest.raises(ValueError, match="arm_circles"):
        generate_dataset(tmp_path, actions=("wave", "moonwalk"), progress=False)


def _tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_interrupted_generation_leaves_no_labels_and_is_redone(tmp_path, monkeypatch):
    from actionlab.synthetic import dataset

    real_write = dataset.write_video
    calls = []

    def failing_write(path, frames, fps):
        calls.append(path)
        if len(calls) == 3:  # the third clip: two videos and masks are already written
            raise KeyboardInterrupt("killed")
        return real_write(path, frames, fps)

    monkeypatch.setattr(dataset, "write_video", failing_write)
    root = tmp_path / "synthetic"
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(root, actions=ACTS, seed=3, **SMALL)
    assert len(calls) == 3
    assert not root.exists()
    assert _tree(tmp_path) == []  # the temporary folder is gone too
    # a hard kill cannot clean up: the next call removes the leftover folder first
    leftover = tmp_path / ".synthetic.0123456789ab.tmp"
    (leftover / "wave").mkdir(parents=True)
    (leftover / "wave" / "wave_000.mp4").write_bytes(b"half a vid")
    (tmp_path / ".other.0123456789ab.tmp").mkdir()  # another folder's temporary: kept
    monkeypatch.setattr(dataset, "write_video", real_write)
    table = generate_dataset(root, actions=ACTS, seed=3, **SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.0123456789ab.tmp", "synthetic"]
    assert set(_tree(root)) >= {"labels.csv", "meta.jsonl", *table.path, *table.mask_path}
    for rel in table.path:
        assert count_frames(root / rel) == (10, 64, 64)


def test_generation_into_existing_folder_writes_labels_last(tmp_path, monkeypatch):
    import os

    from actionlab.synthetic import dataset

    root = tmp_path / "synthetic"
    root.mkdir()
    (root / ".gitkeep").touch()  # a non-empty root cannot be replaced by one rename
    moved = []
    real_replace = os.replace

    def spy(src, dst):
        if Path(dst).is_relative_to(root):  # writers inside the temporary folder rename too
            moved.append(Path(dst).relative_to(root).as_posix())
        return real_replace(src, dst)

    monkeypatch.setattr(dataset.os, "replace", spy)
    table = generate_dataset(root, actions=("wave",), seed=3, **SMALL)
    assert moved[-1] == "labels.csv"
    assert {"labels.csv", "meta.jsonl", ".gitkeep", *table.path} <= set(_tree(root))
    assert [p.name for p in tmp_path.iterdir()] == ["synthetic"]
