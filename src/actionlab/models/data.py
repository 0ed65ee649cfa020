"""Streaming SimSiam training samples: clips are read one at a time, never all at once (no kedro).

``ClipWindows`` is a ``torch.utils.data.IterableDataset`` over stored clips. Each worker reads
one clip (``read(path)``), cuts it to the encoder's region of interest (``apply_roi``: the
motion crop for ``roi="motion"``), draws its windows (``window_indices``: the same samples
``sample_windows`` gives) and releases the clip before reading the next. A bounded shuffle
buffer (``shuffle_buffer`` windows per worker) mixes the windows of consecutive clips, and
``make_loader`` batches them in DataLoader workers with bounded prefetch. Memory therefore
depends on the clip size, the buffer, the batch size and the number of workers, never on the
number of clips. The price: every epoch reads and crops each clip again (``roi="motion"``
costs about 4 ms per 128 px frame on one core), which ``loader_workers`` spread over processes.

Why iterable rather than map-style over (clip, frame) pairs: a map-style sampler would ask for
frames of random clips, so every batch would read (and motion-crop, which needs the whole
clip) dozens of clips; iterating clip by clip reads each clip once per epoch.

One epoch (``set_epoch(e)``), with ``seed`` fixed:

* clip order: a permutation drawn from ``(seed, e)`` (``shuffle=False``: the given order);
  worker ``w`` of ``W`` takes the clips at positions ``w, w + W, ...`` of it, so every clip,
  and therefore every sample, is read exactly once per epoch whatever ``W``;
* the windows of clip ``i`` (centres, temporal partners) are drawn from ``(seed, e, i)``: the
  samples of an epoch do not depend on the number of workers, only their order does;
* the shuffle buffer of worker ``w`` draws from ``(seed, e, W, w)``.

Same seed, clips and ``num_workers`` give the same sample stream; with ``num_workers > 0`` the
DataLoader takes batches from the workers in turn, so the batches (and the loss history) differ
from those of ``num_workers = 0``, but are as reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

from actionlab.models.frame_encoder import apply_roi, window_length

# config keys that decide which samples a clip gives (``ssl_train.resolve_config`` has them all)
SAMPLE_KEYS = ("input_mode", "diff_step", "pair_gap", "frames_per_clip", "roi", "input_size")
SHUFFLE_BUFFER = 256  # windows held per worker to mix consecutive clips
ClipReader = Callable[[str], "np.ndarray | Mapping[str, Any]"]


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng([int(k) % 2**32 for k in keys])


def clip_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of clip ``index``'s windows in ``epoch`` (independent of the workers)."""
    return _rng(seed, epoch, 1, index)


def samples_per_clip(length: int, frames_per_clip: int | None) -> int:
    """Windows drawn from a clip of ``length`` frames: all frames unless ``frames_per_clip``."""
    if length <= 0:
        return 0
    if frames_per_clip is None or frames_per_clip >= length:
        return int(length)
    return int(frames_per_clip)


def window_indices(length: int, config: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Frame indices of the windows drawn from a clip of ``length`` frames.

    ``samples_per_clip`` centre frames (sorted), each widened to ``L = window_length(input_mode,
    diff_step)`` frames (neighbours clamped to the clip). With ``pair_gap = g > 0`` each window
    is paired with the window around a frame ``1..g`` frames away. Returns int ``(N, L)`` or
    ``(N, 2, L)`` (pairs).
    """
    size = window_length(config["input_mode"], config["diff_step"])
    offsets = np.arange(size) - size // 2
    gap = int(config["pair_gap"])
    count = samples_per_clip(length, config["frames_per_clip"])
    if count == length:
        centres = np.arange(length)
    else:
        centres = np.sort(rng.choice(length, size=count, replace=False))
    idx = np.clip(centres[:, None] + offsets[None, :], 0, length - 1)
    if gap <= 0:
        return idx
    shift = rng.integers(1, gap + 1, size=count) * rng.choice([-1, 1], count)
    partner = centres + shift
    partner = np.where((partner < 0) | (partner >= length), centres - shift, partner)
    partner = np.clip(partner, 0, length - 1)
    idx2 = np.clip(partner[:, None] + offsets[None, :], 0, length - 1)
    return np.stack([idx, idx2], axis=1)


def frames_of(clip: Any) -> np.ndarray:
    """The frames of what a reader returned (an array, or a mapping with ``frames``)."""
    return np.asarray(clip["frames"] if isinstance(clip, Mapping) else clip)


def roi_clip(clip: Any, config: Mapping[str, Any], name: str = "clip") -> np.ndarray:
    """A uint8 clip ``(T, H, W, 3)`` (or a mapping with ``frames``) cut to the encoder's ROI."""
    frames = frames_of(clip)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"{name}: expected uint8 clips (T, H, W, 3); got {frames.dtype} {frames.shape}."
        )
    return np.asarray(apply_roi(frames, config["roi"], config["input_size"]))


def _check_config(config: Mapping[str, Any]) -> dict[str, Any]:
    missing = [k for k in SAMPLE_KEYS if k not in config]
    if missing:
        raise ValueError(
            f"ClipWindows config misses {missing}; pass the resolved ssl_training config "
            "(actionlab.models.ssl_train.resolve_config)."
        )
    return dict(config)


class ArrayReader:
    """``read`` for clips already in memory: ``ArrayReader(clips)(str(i)) -> clips[i]``."""

    def __init__(self, clips: Sequence[np.ndarray]) -> None:
        self.clips = list(clips)

    def __call__(self, key: str) -> np.ndarray:
        return self.clips[int(key)]


class ClipWindows(IterableDataset):
    """Training windows of ``sample_windows`` streamed from clips, one clip per worker at a time.

    ``paths``: the clips (anything ``read`` takes, usually file paths). ``read(path)``: the
    clip's uint8 frames ``(T, H, W, 3)``, or a mapping with ``frames`` (e.g.
    ``actionlab.video.clipfile.read_clip``); it is pickled into DataLoader workers, so it must be
    a module-level function, a ``functools.partial`` of one or an instance of a module-level
    class. ``config``: the resolved ssl_training config (``SAMPLE_KEYS`` are used). ``lengths``:
    frames per clip, needed before reading to know the number of samples (hence steps) per
    epoch: a sequence (e.g. the clip index's ``clip_frames``), a function of the path that reads
    metadata only (e.g. ``clipfile.clip_length``), or None to read every clip once now (slow).
    A clip whose frame count differs from its length raises when it is read. Clips of length 0
    are skipped without reading. Yields uint8 ``(L, h, w, 3)`` or ``(2, L, h, w, 3)`` windows.
    """

    def __init__(
        self,
        paths: Sequence[str],
        read: ClipReader,
        config: Mapping[str, Any],
        *,
        seed: int = 0,
        lengths: Sequence[int] | Callable[[str], int] | None = None,
        shuffle: bool = True,
        shuffle_buffer: int = SHUFFLE_BUFFER,
    ) -> None:
        super().__init__()
        self.paths = list(paths)
        self.read = read
        self.config = _check_config(config)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.shuffle_buffer = int(shuffle_buffer)
        self.epoch = 0
        if lengths is None:
            lengths = [len(frames_of(read(p))) for p in self.paths]
        elif callable(lengths):
            lengths = [lengths(p) for p in self.paths]
        self.lengths = [int(n) for n in lengths]
        if len(self.lengths) != len(self.paths):
            raise ValueError(f"{len(self.lengths)} lengths for {len(self.paths)} clip paths.")

    @classmethod
    def from_arrays(
        cls, clips: Iterable[np.ndarray], config: Mapping[str, Any], **kwargs: Any
    ) -> ClipWindows:
        """The dataset over clips held in memory (tests, small callers); ``kwargs`` as above."""
        arrays = list(clips)
        keys = [str(i) for i in range(len(arrays))]
        return cls(keys, ArrayReader(arrays), config, lengths=[len(a) for a in arrays], **kwargs)

    @property
    def num_samples(self) -> int:
        """Samples per epoch, from the clip lengths (no clip is read)."""
        per_clip = self.config["frames_per_clip"]
        return sum(samples_per_clip(n, per_clip) for n in self.lengths)

    def set_epoch(self, epoch: int) -> None:
        """Draw the next iteration's clip order and windows for ``epoch`` (call before iter)."""
        self.epoch = int(epoch)

    def clip_order(self) -> np.ndarray:
        """Indices of the clips in this epoch's reading order."""
        n = len(self.paths)
        return _rng(self.seed, self.epoch, 0).permutation(n) if self.shuffle else np.arange(n)

    def clip_samples(self, index: int) -> Iterator[np.ndarray]:
        """The windows of clip ``index`` for this epoch (the clip is read here, once)."""
        path = self.paths[index]
        clip = roi_clip(self.read(path), self.config, name=f"clip {path!r}")
        if len(clip) != self.lengths[index]:
            raise ValueError(
                f"clip {path!r} has {len(clip)} frames, but its given length is "
                f"{self.lengths[index]} (the steps per epoch are computed from the lengths)."
            )
        idx = window_indices(len(clip), self.config, clip_rng(self.seed, self.epoch, index))
        for rows in idx:
            yield clip[rows]  # fancy indexing: a copy, the clip is not kept alive by it

    def __iter__(self) -> Iterator[np.ndarray]:
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        mine = [int(i) for i in self.clip_order()[worker::workers] if self.lengths[i] > 0]
        samples = (s for i in mine for s in self.clip_samples(i))
        if not self.shuffle or self.shuffle_buffer <= 1:
            return samples
        rng = _rng(self.seed, self.epoch, 2, workers, worker)
        return _shuffled(samples, self.shuffle_buffer, rng)


def _shuffled(items: Iterator[np.ndarray], size: int, rng: np.random.Generator) -> Iterator:
    """Shuffle buffer: holds ``size`` items, yields a random one as each new item comes in."""
    buffer: list[np.ndarray] = []
    for item in items:
        if len(buffer) < size:
            buffer.append(item)
            continue
        j = int(rng.integers(size))
        yield buffer[j]
        buffer[j] = item
    for j in rng.permutation(len(buffer)):
        yield buffer[j]


class WindowArray(Dataset):
    """Map-style dataset over windows already in memory (``sample_windows`` output)."""

    def __init__(self, windows: np.ndarray) -> None:
        self.windows = windows

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.windows[i]


def _worker_init(_worker_id: int) -> None:
    torch.set_num_threads(1)  # the workers read and crop clips: numpy / OpenCV, not torch ops


def make_loader(
    dataset: ClipWindows | WindowArray,
    batch_size: int,
    *,
    num_workers: int = 0,
    prefetch: int = 2,
    pin_memory: bool = False,
    seed: int = 0,
) -> DataLoader:
    """DataLoader of uint8 window batches: ``num_workers`` processes, ``prefetch`` batches each.

    A ``ClipWindows`` is batched in its workers (the last batch of each worker may be short;
    ``train_simsiam`` re-joins them); a ``WindowArray`` is shuffled with a generator seeded by
    ``seed`` and loses its last partial batch, in-process (its windows are in memory already).
    """
    generator = torch.Generator().manual_seed(int(seed))
    if isinstance(dataset, WindowArray):
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=True,
            drop_last=True,
            generator=generator,
            pin_memory=pin_memory,
        )
    workers = int(num_workers)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=workers,
        prefetch_factor=int(prefetch) if workers > 0 else None,
        pin_memory=pin_memory,
        worker_init_fn=_worker_init if workers > 0 else None,
        generator=generator,
    )
