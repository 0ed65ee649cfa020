"""Encoder interface, default ``embedding`` config and the shared torch encoder skeletons.

Every encoder maps a uint8 clip (T, H, W, 3) to

* ``frame_features``: float32 (T', D) - per-frame features (T' = T) for frame models, or
  per-window features for clip models (T' = number of sliding windows);
* ``clip_embedding``: float32 (D_clip,) - one vector per clip;
* ``encode``: both at once, sharing the expensive work;
* ``encode_many``: ``encode`` for a few clips at once. Torch encoders run the forward passes of
  all the given clips together in chunks of ``batch_size`` frames (video models: windows), so
  short clips still fill the accelerator; the results equal per-clip ``encode`` (every model
  here is per-sample in eval mode; only floating-point summation order may differ).
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from actionlab.encoders.pooling import (
    resample_indices,
    two_stream_embedding,
    two_stream_indices,
    window_indices,
)
from actionlab.runtime import resolve_device

DEFAULT_CONFIG: dict[str, Any] = {
    "num_frames": 8,
    "small_step": 1,
    "pooling": "meanstd",
    "streams": "two",
    "batch_size": 64,
    "num_threads": None,
    "motion": {
        "grid": 3,
        "bins": 8,
        "pyr_scale": 0.5,
        "levels": 3,
        "winsize": 15,
        "iterations": 3,
        "poly_n": 5,
        "poly_sigma": 1.2,
        "mhi_threshold": 1.0,
        "align_radius": 3,
        "flow_threshold": 0.3,
        "diff_threshold": 6,
        "diff_dilate": 2,
        "box_quantile": 0.02,
        "box_margin": 0.1,
        "pyramid": True,
        "mirror": True,
        "hu_moments": 0,
    },
    "torchvision": {
        "model": "resnet18",
        "weights_path": None,
        "allow_random": False,
        "input_size": None,
        "clip_len": None,
    },
    "hf": {
        "path": None,
        "num_frames": None,
    },
}


def merge_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """``DEFAULT_CONFIG`` updated (one level deep for the sub-groups) with ``config``.

    Keys the encoders do not know are kept untouched (the parameter group may hold others).
    """
    merged = copy.deepcopy(DEFAULT_CONFIG)
    for key, value in dict(config or {}).items():
        if isinstance(merged.get(key), dict) and isinstance(value, Mapping):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


def check_clip(clip: np.ndarray) -> np.ndarray:
    """Validate a clip: uint8 array (T, H, W, 3) with T >= 1."""
    clip = np.asarray(clip)
    if clip.ndim != 4 or clip.shape[-1] != 3 or clip.shape[0] < 1:
        raise ValueError(f"Expected a clip of shape (T, H, W, 3) with T >= 1; got {clip.shape}.")
    if clip.dtype != np.uint8:
        raise ValueError(f"Expected a uint8 clip; got dtype {clip.dtype}.")
    return clip


class Encoder(ABC):
    """A clip encoder; subclasses implement ``encode`` (and may shortcut the other two)."""

    name: str = "encoder"

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config = merge_config(config)

    @abstractmethod
    def encode(self, clip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 (T, H, W, 3) -> (frame_features float32 (T', D), clip_embedding float32 (D_clip,))."""

    def encode_many(self, clips: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """``encode`` of each clip, in order (torch encoders batch the clips together)."""
        return [self.encode(clip) for clip in clips]

    def frame_features(self, clip: np.ndarray) -> np.ndarray:
        """Per-frame (or per-window) feature sequence, float32 (T', D)."""
        return self.encode(clip)[0]

    def clip_embedding(self, clip: np.ndarray) -> np.ndarray:
        """One float32 vector (D_clip,) for the clip."""
        return self.encode(clip)[1]

    def pool_streams(self, frame_features: np.ndarray) -> np.ndarray:
        """Two-stream (or single-stream) pooled embedding with this encoder's config."""
        cfg = self.config
        return two_stream_embedding(
            frame_features,
            num_frames=cfg["num_frames"],
            small_step=cfg["small_step"],
            pooling=cfg["pooling"],
            streams=cfg["streams"],
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _to_numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().float().cpu().numpy().astype(np.float32, copy=False)


# ``take(a, b)``: model inputs of rows a..b (frames or windows) of one clip.
RowSource = Callable[[int, int], torch.Tensor]


class TorchEncoder(Encoder):
    """An encoder backed by a torch module ``model`` on ``device`` (``auto``: CUDA when present)."""

    model: torch.nn.Module
    device: torch.device

    def __init__(self, config: Mapping[str, Any] | None = None, device: str = "auto") -> None:
        super().__init__(config)
        self.device = resolve_device(device)

    def attach(self, model: torch.nn.Module) -> None:
        """Use ``model``: moved to this encoder's device, in eval mode (in place)."""
        self.model = model.to(self.device).eval()

    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """A batch of model inputs on ``self.device`` -> (B, D)."""

    def _forward_rows(
        self, sources: Sequence[tuple[RowSource, int]], batch: int
    ) -> list[np.ndarray]:
        """Run ``forward`` over the rows of all ``sources`` (``(take, rows)`` per clip) in chunks
        of ``batch`` rows that span clip boundaries; return each clip's outputs (rows, D).

        All rows must have the same shape and every clip at least one row. Call under
        ``torch.inference_mode``.
        """
        outs: list[torch.Tensor] = []
        pending: list[torch.Tensor] = []
        filled = 0
        for take, rows in sources:
            start = 0
            while start < rows:
                stop = min(rows, start + batch - filled)
                pending.append(take(start, stop))
                filled += stop - start
                start = stop
                if filled == batch:
                    outs.append(self._forward_chunk(pending))
                    pending, filled = [], 0
        if pending:
            outs.append(self._forward_chunk(pending))
        if not outs:
            return []
        flat = _to_numpy(torch.cat(outs).flatten(1))
        bounds = np.cumsum([rows for _, rows in sources])[:-1]
        return np.split(flat, bounds)

    def _forward_chunk(self, parts: list[torch.Tensor]) -> torch.Tensor:
        x = parts[0] if len(parts) == 1 else torch.cat(parts)
        return self.forward(x.to(self.device))

    def _forward_grouped(
        self, sources: Sequence[tuple[RowSource, int, tuple[int, ...]]], batch: int
    ) -> list[np.ndarray]:
        """``_forward_rows`` per group of clips whose rows share a shape (third item); the
        outputs come back in the order of ``sources``."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, (_, _, shape) in enumerate(sources):
            groups.setdefault(tuple(shape), []).append(i)
        results: list[np.ndarray | None] = [None] * len(sources)
        for members in groups.values():
            outs = self._forward_rows([sources[i][:2] for i in members], batch)
            for i, out in zip(members, outs, strict=True):
                results[i] = out
        return [out for out in results if out is not None]


class FrameModelEncoder(TorchEncoder):
    """A torch model applied to every frame; clip embedding = two-stream pooling of frames.

    Subclasses ``attach`` their model and implement ``prepare`` and ``forward``.
    """

    @abstractmethod
    def prepare(self, clip: np.ndarray) -> torch.Tensor:
        """uint8 (T, H, W, 3) -> model input (T, C, h, w) (any device)."""

    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) on ``self.device`` -> (B, D)."""

    def frame_features_many(self, clips: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per-frame features (T_i, D) of each clip; frames of all clips batched together."""
        clips = [check_clip(clip) for clip in clips]
        batch = max(1, int(self.config["batch_size"]))
        with torch.inference_mode():
            prepared = [self.prepare(clip) for clip in clips]
            sources = [(_slicer(x), x.shape[0], tuple(x.shape[1:])) for x in prepared]
            return self._forward_grouped(sources, batch)

    def frame_features(self, clip: np.ndarray) -> np.ndarray:
        return self.frame_features_many([clip])[0]

    def encode_many(self, clips: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(feats, self.pool_streams(feats)) for feats in self.frame_features_many(clips)]

    def encode(self, clip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.encode_many([clip])[0]


def _slicer(x: torch.Tensor) -> RowSource:
    return lambda a, b: x[a:b]


def _gatherer(frames: torch.Tensor, gather: torch.Tensor) -> RowSource:
    return lambda a, b: frames[gather[a:b]]


class ClipModelEncoder(TorchEncoder):
    """A torch video model that maps a clip of ``clip_len`` frames to one vector.

    ``frame_features``: sliding windows of ``clip_len`` frames, stride half a window -> (W, D).
    ``clip_embedding``: each stream (``num_frames`` frames, resampled to ``clip_len``) is one
    clip -> one vector; ``"two"`` streams -> ``concat(small, large)``, ``"single"`` -> large.
    Frames are prepared (resized, normalised) once per clip and shared by all windows/streams;
    ``encode_many`` runs the windows and streams of several clips in shared batches of
    ``batch_size // clip_len`` windows.
    Subclasses ``attach`` their model, set ``clip_len`` and implement ``prepare``/``forward``.
    """

    clip_len: int

    @abstractmethod
    def prepare(self, clip: np.ndarray) -> torch.Tensor:
        """uint8 (T, H, W, 3) -> prepared frames (T, C, h, w) (any device)."""

    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, clip_len, C, h, w) on ``self.device`` -> (B, D)."""

    def stream_indices(self, total: int) -> np.ndarray:
        """(S, clip_len) frame indices of the stream clips (S = 2 or 1)."""
        if self.config["streams"] not in ("two", "single"):
            raise ValueError(f"streams={self.config['streams']!r}; expected 'two' or 'single'.")
        small, large = two_stream_indices(
            total, self.config["num_frames"], self.config["small_step"]
        )
        streams = [large] if self.config["streams"] == "single" else [small, large]
        return np.stack([resample_indices(s, self.clip_len) for s in streams])

    def window_indices(self, total: int) -> np.ndarray:
        """(W, clip_len) frame indices of the sliding windows."""
        return window_indices(total, self.clip_len)

    def _run_many(
        self, clips: Sequence[np.ndarray], indices: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """Model outputs (N_i, D) for the windows ``indices[i]`` (N_i, clip_len) of ``clips[i]``;
        the windows of all clips run in shared batches."""
        clips = [check_clip(clip) for clip in clips]
        per_batch = max(1, int(self.config["batch_size"]) // self.clip_len)
        with torch.inference_mode():
            sources = []
            for clip, index in zip(clips, indices, strict=True):
                frames = self.prepare(clip).to(self.device)
                gather = torch.as_tensor(index, device=self.device)
                sources.append((_gatherer(frames, gather), len(index), tuple(frames.shape[1:])))
            return self._forward_grouped(sources, per_batch)

    def _run(self, clip: np.ndarray, index: np.ndarray) -> np.ndarray:
        return self._run_many([clip], [index])[0]

    def frame_features(self, clip: np.ndarray) -> np.ndarray:
        return self._run(clip, self.window_indices(len(clip)))

    def clip_embedding(self, clip: np.ndarray) -> np.ndarray:
        return self._run(clip, self.stream_indices(len(clip))).reshape(-1)

    def encode_many(self, clips: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        clips = [check_clip(clip) for clip in clips]
        windows = [self.window_indices(len(clip)) for clip in clips]
        streams = [self.stream_indices(len(clip)) for clip in clips]
        both = [np.concatenate(pair) for pair in zip(windows, streams, strict=True)]
        outs = self._run_many(clips, both)
        return [
            (out[: len(w)], out[len(w) :].reshape(-1)) for out, w in zip(outs, windows, strict=True)
        ]

    def encode(self, clip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.encode_many([clip])[0]
