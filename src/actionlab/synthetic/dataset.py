"""Write a seeded synthetic action data set: mp4 clips, per-frame figure masks and ``labels.csv``."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from actionlab.engine.atomic import is_temp, temp_name
from actionlab.synthetic.figure import ACTIONS, check_action, stable_hash
from actionlab.synthetic.render import CAMERAS, render_clip
from actionlab.video import write_video

LABEL_COLUMNS: tuple[str, ...] = ("path", "label", "group", "variant", "mask_path")


def clip_seed(seed: int, action: str, index: int, incorrect: bool) -> int:
    """The render seed of clip ``index`` of ``action``: a function of exactly these, so adding actions
    or clips never changes the clips already there."""
    seq = np.random.SeedSequence(
        [int(seed) & 0xFFFFFFFF, stable_hash(action), int(index), int(incorrect)]
    )
    return int(seq.generate_state(1)[0])


def clip_actor(action: str, index: int, num_actors: int, incorrect: bool) -> int:
    """Actor of clip ``index``: correct clips cycle through the actors (so with ``clips_per_action >=
    num_actors`` every actor does every action); incorrect ones start at an action-dependent actor."""
    start = stable_hash(action) % num_actors if incorrect else 0
    return (start + index) % num_actors


def clip_name(action: str, index: int, incorrect: bool) -> str:
    """``squat_003`` or ``squat_incorrect_003``."""
    return f"{action}_incorrect_{index:03d}" if incorrect else f"{action}_{index:03d}"


def save_masks(path: str | Path, masks: np.ndarray) -> Path:
    """Save ``(T, H, W)`` bool masks bit-packed (``np.packbits`` along W) in a compressed npz."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    masks = np.asarray(masks, dtype=bool)
    np.savez_compressed(
        path, masks=np.packbits(masks, axis=-1), shape=np.array(masks.shape, np.int64)
    )
    return path


def load_masks(path: str | Path) -> np.ndarray:
    """Load ``(T, H, W)`` bool masks written by ``save_masks`` (bit-packed) or a plain bool ``masks``."""
    with np.load(Path(path)) as data:
        masks = data["masks"]
        if "shape" in data.files:
            shape = tuple(int(v) for v in data["shape"])
            return np.unpackbits(masks, axis=-1, count=shape[-1]).astype(bool).reshape(shape)
    return masks.astype(bool)


def generate_dataset(
    root: str | Path,
    *,
    clips_per_action: int = 8,
    incorrect_per_action: int = 2,
    num_actors: int = 4,
    num_frames: int = 40,
    size: int = 128,
    fps: float = 20.0,
    seed: int = 0,
    actions: Sequence[str] = ACTIONS,
    progress: bool = True,
    camera: str = "shake",
) -> pd.DataFrame:
    """Render and write the synthetic data set under ``root``; returns the ``labels.csv`` table.

    Writes ``<root>/<action>/<clip>.mp4`` (H.264), ``<root>/masks/<action>/<clip>.npz`` (read with
    ``load_masks``), ``<root>/labels.csv`` (columns ``path, label, group, variant, mask_path``; paths
    relative to ``root``, posix) and ``<root>/meta.jsonl`` (every clip's nuisance draws). Clip
    ``k`` of an action is rendered from ``clip_seed(seed, action, k, incorrect)``, so the same
    arguments give byte-identical frames and files. ``camera`` is ``render_clip``'s camera option
    (``shake``, the default, ``still`` or ``pan_zoom``).

    The set is written into a hidden temporary sibling folder and moved to ``root`` as the last
    step, so ``labels.csv`` never sits next to missing or partial files (an interrupted run
    leaves only the temporary folder, which the next call removes).
    """
    actions = [check_action(a) for a in actions]
    if camera not in CAMERAS:
        raise ValueError(f"camera={camera!r}: expected one of {', '.join(CAMERAS)}")
    if len(set(actions)) != len(actions):
        raise ValueError(f"duplicate actions in {actions}")
    if num_actors < 1 or clips_per_action < 0 or incorrect_per_action < 0:
        raise ValueError("need num_actors >= 1 and non-negative clip counts")
    root = Path(os.path.abspath(root))  # "." has no name to derive a sibling from
    _remove_leftovers(root)
    tmp = root.with_name(temp_name(root.name))
    tmp.mkdir(parents=True)
    try:
        table = _write_clips(
            tmp, actions, clips_per_action=clips_per_action,
            incorrect_per_action=incorrect_per_action, num_actors=num_actors,
            num_frames=num_frames, size=size, fps=fps, seed=seed, progress=progress, camera=camera,
        )  # fmt: skip
        _move_into_place(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return table


def _remove_leftovers(root: Path) -> list[Path]:
    """Delete temporary folders that an interrupted ``generate_dataset(root)`` left next to it."""
    if not root.parent.is_dir():
        return []
    prefix = f".{root.name}."
    leftovers = [
        p for p in root.parent.iterdir()
        if p.is_dir() and p.name.startswith(prefix) and is_temp(p.name)
    ]  # fmt: skip
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
    return leftovers


def _move_into_place(tmp: Path, root: Path) -> None:
    """Make the finished set in ``tmp`` appear at ``root``: one rename when ``root`` is missing or
    empty; otherwise file by file, ``labels.csv`` (the "already generated" marker) last."""
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()
    if not root.exists():
        os.replace(tmp, root)
        return
    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.relative_to(tmp) == Path("labels.csv"))
    for src in files:
        dst = root / src.relative_to(tmp)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)


def _write_clips(
    root: Path, actions: list[str], *, clips_per_action: int, incorrect_per_action: int,
    num_actors: int, num_frames: int, size: int, fps: float, seed: int, progress: bool,
    camera: str = "shake",
) -> pd.DataFrame:  # fmt: skip
    """Render and write every clip, mask, ``labels.csv`` and ``meta.jsonl`` under ``root``."""
    jobs = [(a, k, False) for a in actions for k in range(clips_per_action)]
    jobs += [(a, k, True) for a in actions for k in range(incorrect_per_action)]
    jobs.sort(key=lambda j: (actions.index(j[0]), j[2], j[1]))
    rows, metas = [], []
    for action, k, incorrect in tqdm(
        jobs, desc="synthetic clips", unit="clip", disable=not progress
    ):
        clip = render_clip(
            action,
            seed=clip_seed(seed, action, k, incorrect),
            incorrect=incorrect,
            actor=clip_actor(action, k, num_actors, incorrect),
            num_frames=num_frames,
            size=size,
            camera=camera,
        )
        name = clip_name(action, k, incorrect)
        video = Path(action) / f"{name}.mp4"
        mask = Path("masks") / action / f"{name}.npz"
        write_video(root / video, clip.frames, fps)
        save_masks(root / mask, clip.masks)
        rows.append((video.as_posix(), action, clip.actor, clip.variant, mask.as_posix()))
        metas.append({"path": video.as_posix(), **clip.meta})
    table = pd.DataFrame(rows, columns=list(LABEL_COLUMNS))
    with open(root / "meta.jsonl", "w", encoding="utf-8") as fh:
        for meta in metas:
            fh.write(json.dumps(meta, sort_keys=True) + "\n")
    table.to_csv(root / "labels.csv", index=False)
    return table


def _extreme_frame(masks: np.ndarray) -> int:
    """The frame whose figure differs most from the clip's average silhouette (its extreme pose)."""
    mean = masks.mean(axis=0)
    return int(np.argmax(np.abs(masks - mean).sum(axis=(1, 2))))


def contact_sheet(
    actions: Sequence[str] = ACTIONS,
    *,
    seed: int = 0,
    frames_per_action: int = 1,
    incorrect: bool = False,
    num_frames: int = 40,
    size: int = 128,
) -> np.ndarray:
    """An RGB uint8 overview image: one row per action (name on the left) with ``frames_per_action``
    frames of ``clip_seed(seed, action, 0, incorrect)``; one frame shows the most extreme pose."""
    import cv2

    rows = []
    for action in actions:
        clip = render_clip(
            check_action(action),
            seed=clip_seed(seed, action, 0, incorrect),
            incorrect=incorrect,
            num_frames=num_frames,
            size=size,
        )
        if frames_per_action == 1:
            picks = [_extreme_frame(clip.masks)]
        else:
            picks = np.linspace(0, num_frames - 1, frames_per_action).round().astype(int).tolist()
        label = np.full((size, 2 * size // 3 + 24, 3), 255, np.uint8)
        text = action + (" (x)" if incorrect else "")
        cv2.putText(
            label,
            text,
            (4, size // 2),
            cv2.FONT_HERSHEY_SIMPLEX,
            size / 320,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
        rows.append(np.concatenate([label, *(clip.frames[i] for i in picks)], axis=1))
    return np.concatenate(rows, axis=0)
