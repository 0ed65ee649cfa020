"""Labelled clip windows for the clip classifiers, read lazily from the clip store (no kedro).

``ClipDataset`` is a map-style dataset: item ``i`` is one temporal window of
``frames_per_clip`` frames of one clip (``stride`` frames apart), read from the store on
demand (only the HDF5 chunks of the window are decompressed, see ``load_stored_clip``),
returned as float ``(T, 3, size, size)`` in [0, 1] with its label index: the batch contract
``(inputs, labels)`` of the clip models in ``actionlab.models.clip_models``.

* training (``train=True``): ``windows`` items per clip; each epoch (``set_epoch``) draws a
  random start per item from ``(seed, epoch, clip)`` and, when ``augment`` is given, one random
  transform per item applied to all its frames (``ClipAugment``);
* evaluation (``train=False``): ``views`` items per clip, windows whose starts are evenly
  spaced over the clip (one view: the middle window), only resized, never augmented.
  ``predict_proba`` averages the views' probabilities (multi-view testing).

A clip shorter than the window's span ``stride * (frames_per_clip - 1) + 1`` is resampled to
``frames_per_clip`` evenly spread frames (repeated when it has fewer), so every item has the
same shape.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from actionlab.engine import PartitionStore
from actionlab.manifest import ACCEPTED
from actionlab.models.augment import ClipAugment, resize_clip
from actionlab.models.data import clip_rng
from actionlab.video.items import load_stored_clip

WindowReader = Callable[[str, int, int], np.ndarray]  # (key, start, stop) -> uint8 (n, H, W, 3)


class StoreClips:
    """``read(key, start, stop)``: frames ``[start, stop)`` of a stored clip (picklable)."""

    def __init__(self, store: PartitionStore) -> None:
        self.store = store

    def __call__(self, key: str, start: int, stop: int) -> np.ndarray:
        return load_stored_clip(self.store, key, start, stop)["frames"]


class ArrayClips:
    """``read`` for clips held in memory: key ``str(i)`` is ``clips[i]`` (tests, small callers)."""

    def __init__(self, clips: Sequence[np.ndarray]) -> None:
        self.clips = list(clips)

    def __call__(self, key: str, start: int, stop: int) -> np.ndarray:
        return self.clips[int(key)][start:stop]


def window_span(frames_per_clip: int, stride: int) -> int:
    """Frames a window covers: ``stride * (frames_per_clip - 1) + 1``."""
    return int(stride) * (int(frames_per_clip) - 1) + 1


def view_starts(length: int, span: int, views: int) -> np.ndarray:
    """Starts of ``views`` windows of ``span`` frames evenly spaced over a clip of ``length``
    frames (first at 0, last at the end; one view: the middle window)."""
    last = max(0, int(length) - int(span))
    if views == 1:
        return np.array([last // 2])
    return np.linspace(0, last, int(views)).round().astype(int)


def window_indices(length: int, frames_per_clip: int, stride: int, start: int) -> np.ndarray:
    """Frame indices of the window from ``start``; a clip shorter than the span is resampled."""
    if length < 1:
        raise ValueError("a clip of 0 frames has no window.")
    if length < window_span(frames_per_clip, stride):
        return np.linspace(0, length - 1, int(frames_per_clip)).round().astype(int)
    return int(start) + int(stride) * np.arange(int(frames_per_clip))


class ClipDataset(Dataset):
    """Windows of stored clips with their label indices; see the module docstring.

    ``keys``: the clips (what ``read`` takes, e.g. ``clip_key``s of a ``StoreClips``);
    ``lengths``: their frame counts (the clip index's ``clip_frames``; nothing is read before an
    item is asked for); ``labels``: class indices (-1 for unlabelled clips). ``classes``:
    the class names, in index order.
    """

    def __init__(
        self,
        keys: Sequence[str],
        lengths: Sequence[int],
        labels: Sequence[int],
        read: WindowReader,
        *,
        classes: Sequence[str] = (),
        frames_per_clip: int = 8,
        stride: int = 2,
        size: int = 64,
        train: bool = False,
        views: int = 1,
        windows: int = 1,
        augment: ClipAugment | None = None,
        seed: int = 0,
    ) -> None:
        self.keys = [str(k) for k in keys]
        self.lengths = [int(n) for n in lengths]
        self.labels = np.asarray(labels, dtype=np.int64)
        if not len(self.keys) == len(self.lengths) == len(self.labels):
            raise ValueError(
                f"{len(self.keys)} keys, {len(self.lengths)} lengths and {len(self.labels)} "
                "labels: pass one of each per clip."
            )
        if any(n < 1 for n in self.lengths):
            raise ValueError("ClipDataset: every clip needs at least one frame (clip_frames >= 1).")
        if frames_per_clip < 1 or stride < 1 or views < 1 or windows < 1:
            raise ValueError(
                f"frames_per_clip={frames_per_clip}, stride={stride}, views={views}, "
                f"windows={windows}: each must be >= 1."
            )
        self.read = read
        self.classes = [str(c) for c in classes]
        self.frames_per_clip = int(frames_per_clip)
        self.stride = int(stride)
        self.size = int(size)
        self.train = bool(train)
        self.views = int(views)
        self.windows = int(windows)
        self.augment = augment if self.train else None
        self.seed = int(seed)
        self.epoch = 0

    @classmethod
    def from_index(
        cls,
        clip_index: pd.DataFrame,
        clips: PartitionStore,
        classes: Sequence[str],
        splits: Sequence[str] | None = None,
        **options: Any,
    ) -> ClipDataset:
        """The accepted clips of ``splits`` (all when None) in the clip index, read from the
        ``clips`` store; ``label`` mapped to its position in ``classes``; ``options`` as above."""
        rows = clip_index[clip_index["status"] == ACCEPTED]
        if splits is not None:
            rows = rows[rows["split"].isin(list(splits))]
        names = [str(c) for c in classes]
        unknown = sorted(set(rows["label"].astype(str)) - set(names))
        if unknown:
            raise ValueError(f"labels {unknown} are not among the classes {names}.")
        labels = [names.index(str(x)) for x in rows["label"]]
        return cls(
            list(rows["clip_key"]), rows["clip_frames"].astype(int).tolist(), labels,
            StoreClips(clips), classes=names, **options,
        )  # fmt: skip

    @property
    def num_clips(self) -> int:
        return len(self.keys)

    @property
    def per_clip(self) -> int:
        """Items per clip: ``windows`` in training, ``views`` in evaluation."""
        return self.windows if self.train else self.views

    def __len__(self) -> int:
        return self.num_clips * self.per_clip

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's training windows (call before iterating)."""
        self.epoch = int(epoch)

    def with_views(self, views: int) -> ClipDataset:
        """An evaluation copy of this dataset with ``views`` windows per clip (no augmentation)."""
        other = copy.copy(self)
        other.train, other.augment, other.views = False, None, int(views)
        if other.views < 1:
            raise ValueError(f"views={views}: expected >= 1.")
        return other

    def subset(self, clips: Sequence[int]) -> ClipDataset:
        """A copy holding only the clips at positions ``clips`` (e.g. a validation hold-out)."""
        pick = [int(i) for i in clips]
        other = copy.copy(self)
        other.keys = [self.keys[i] for i in pick]
        other.lengths = [self.lengths[i] for i in pick]
        other.labels = self.labels[pick] if pick else self.labels[:0]
        return other

    def indices(self, item: int) -> np.ndarray:
        """Frame indices of ``item``'s window (random per epoch in training)."""
        clip, view = divmod(int(item), self.per_clip)
        length = self.lengths[clip]
        span = window_span(self.frames_per_clip, self.stride)
        if self.train:
            starts = clip_rng(self.seed, self.epoch, clip).integers(max(0, length - span) + 1, size=self.windows)
            start = int(starts[view])
        else:
            start = int(view_starts(length, span, self.views)[view])
        return window_indices(length, self.frames_per_clip, self.stride, start)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, int]:
        if not 0 <= item < len(self):
            raise IndexError(item)
        clip = item // self.per_clip
        idx = self.indices(item)
        lo = int(idx.min())
        window = np.asarray(self.read(self.keys[clip], lo, int(idx.max()) + 1))
        if window.ndim != 4 or window.shape[-1] != 3 or window.dtype != np.uint8:
            raise ValueError(
                f"clip {self.keys[clip]!r}: expected uint8 frames (T, H, W, 3), got "
                f"{window.dtype} {window.shape}."
            )
        frames = torch.from_numpy(np.ascontiguousarray(window[idx - lo])).permute(0, 3, 1, 2)
        if self.augment is not None:
            frames = self.augment(frames)
        frames = resize_clip(frames, self.size)
        return frames.float().div_(255.0), int(self.labels[clip])
