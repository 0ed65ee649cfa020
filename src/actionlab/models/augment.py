"""Augmentations with torchvision.transforms.v2: SimSiam views of *prepared* encoder inputs
(B, C, s, s) (``TwoViewAugment``), and video-consistent clip augmentation for the clip
classifiers (``ClipAugment``: one random transform per clip, the same on all its frames).

In ``TwoViewAugment`` every sample of a batch gets its own random crop / flip / jitter / grey /
blur (v2 transforms draw one set of parameters per call, so they are called per sample). Works
on any device.

Photometric transforms expect images in [0, 1], so each 3-channel group is mapped there first
and back afterwards: ``rgb`` channels undo the mean/std normalisation; ``diff`` channels
(signed differences scaled by ``diff_gain``) are mapped with ``d / (2 * gain) + 0.5``. For the
difference channels brightness would add a constant to every pixel (motion where there is
none), so ``diff_jitter`` defaults to contrast / saturation only: a random motion gain and a
random mixing of the three difference channels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from actionlab.models.frame_encoder import RGB_MEAN, RGB_STD, _check_mode

RGB_JITTER = (0.4, 0.4, 0.4, 0.1)
DIFF_JITTER = (0.0, 0.4, 0.4, 0.0)


class TwoViewAugment:
    """``aug(x) -> (view1, view2)``: two independent random views of prepared inputs ``x``.

    ``x``: float (B, C, s, s) from ``FrameEncoder.prepare`` / ``prepare_windows`` for
    ``input_mode``; views have the same shape, dtype and device.
    """

    def __init__(
        self,
        input_mode: str = "diff",
        size: int = 64,
        *,
        scale: tuple[float, float] = (0.2, 1.0),
        rgb_jitter: Sequence[float] = RGB_JITTER,
        diff_jitter: Sequence[float] = DIFF_JITTER,
        jitter_p: float = 0.8,
        grayscale_p: float = 0.2,
        flip_p: float = 0.5,
        blur_p: float = 0.5,
        blur_sigma: tuple[float, float] = (0.1, 2.0),
        diff_gain: float = 4.0,
    ) -> None:
        _check_mode(input_mode)
        self.input_mode = input_mode
        self.size = int(size)
        self.diff_gain = float(diff_gain)
        kernel = max(3, (self.size // 10) | 1)  # ~10% of the side, odd (paper: 23 px at 224)
        self.geometric = v2.Compose(
            [
                v2.RandomResizedCrop(self.size, scale=tuple(scale), antialias=True),
                v2.RandomHorizontalFlip(flip_p),
            ]
        )
        self.blur = v2.RandomApply([v2.GaussianBlur(kernel, sigma=tuple(blur_sigma))], p=blur_p)
        self.rgb_photo = self._photometric(rgb_jitter, jitter_p, grayscale_p)
        self.diff_photo = self._photometric(diff_jitter, jitter_p, grayscale_p)

    @staticmethod
    def _photometric(jitter: Sequence[float], p: float, grey_p: float) -> v2.Compose:
        steps: list[v2.Transform] = []
        if any(jitter):
            b, c, s, h = jitter
            steps.append(v2.RandomApply([v2.ColorJitter(b, c, s, h)], p=p))
        if grey_p > 0:
            steps.append(v2.RandomGrayscale(grey_p))
        return v2.Compose(steps)

    def _groups(self) -> list[tuple[slice, str]]:
        if self.input_mode == "rgb":
            return [(slice(0, 3), "rgb")]
        if self.input_mode == "diff":
            return [(slice(0, 3), "diff")]
        return [(slice(0, 3), "diff"), (slice(3, 6), "rgb")]

    def _to_unit(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        if kind == "rgb":
            return x * RGB_STD + RGB_MEAN
        return (x / (2 * self.diff_gain) + 0.5).clamp(0.0, 1.0)

    def _from_unit(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        if kind == "rgb":
            return (x - RGB_MEAN) / RGB_STD
        return (x - 0.5) * (2 * self.diff_gain)

    def view(self, x: torch.Tensor) -> torch.Tensor:
        """One random view of every sample of ``x`` (B, C, s, s)."""
        out = []
        for sample in x:
            y = self.geometric(sample)
            parts = []
            for sl, kind in self._groups():
                photo = self.rgb_photo if kind == "rgb" else self.diff_photo
                parts.append(self._from_unit(photo(self._to_unit(y[sl], kind)), kind))
            y = torch.cat(parts) if len(parts) > 1 else parts[0]
            out.append(self.blur(y))
        return torch.stack(out)

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.view(x), self.view(x)


# --------------------------------------------------------------------------- clip models
CLIP_JITTER = (0.3, 0.3, 0.3, 0.05)  # brightness, contrast, saturation, hue


class ClipAugment:
    """One random transform per clip, applied identically to all its frames (training only).

    ``aug(frames) -> frames``: uint8 ``(T, 3, H, W)`` in, uint8 ``(T, 3, size, size)`` out.
    The frames are wrapped as ``tv_tensors.Video``, so one call of the v2 pipeline draws one
    set of parameters (crop box, flip, angle, jitter factors and order, blur sigma) and applies
    it to every frame: the motion between frames is kept, only the view of the whole clip
    changes. Steps: random resized crop (``scale``), horizontal flip (``flip_p``), rotation by
    up to ``degrees``, colour jitter (``jitter``: brightness, contrast, saturation, hue, with
    probability ``jitter_p``), Gaussian blur (probability ``blur_p``; 0 = off).
    """

    def __init__(
        self,
        size: int = 64,
        *,
        scale: tuple[float, float] = (0.6, 1.0),
        flip_p: float = 0.5,
        degrees: float = 10.0,
        jitter: Sequence[float] = CLIP_JITTER,
        jitter_p: float = 0.8,
        blur_p: float = 0.0,
        blur_sigma: tuple[float, float] = (0.1, 1.5),
    ) -> None:
        self.size = int(size)
        steps: list[v2.Transform] = [
            v2.RandomResizedCrop(self.size, scale=tuple(scale), antialias=True),
            v2.RandomHorizontalFlip(flip_p),
        ]
        if degrees > 0:
            steps.append(v2.RandomRotation(float(degrees)))
        if any(jitter) and jitter_p > 0:
            steps.append(v2.RandomApply([v2.ColorJitter(*jitter)], p=jitter_p))
        if blur_p > 0:
            kernel = max(3, (self.size // 10) | 1)
            steps.append(
                v2.RandomApply([v2.GaussianBlur(kernel, sigma=tuple(blur_sigma))], p=blur_p)
            )
        self.transform = v2.Compose(steps)

    @classmethod
    def from_config(cls, size: int, config: Mapping[str, Any], *, flip: bool = True) -> ClipAugment:
        """From a parameter group with the fields ``AUGMENT_FIELDS`` (``classification.clip_augment``,
        ``anomaly.augment``); ``flip=False`` turns the horizontal flip off (an asymmetric action)."""
        return cls(
            size, scale=tuple(config["scale"]), flip_p=float(config["flip_p"]) if flip else 0.0,
            degrees=float(config["degrees"]), jitter=tuple(config["jitter"]), jitter_p=float(config["jitter_p"]),
            blur_p=float(config["blur_p"]), blur_sigma=tuple(config["blur_sigma"]),
        )  # fmt: skip

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        return self.transform(tv_tensors.Video(frames)).as_subclass(torch.Tensor)


AUGMENT_FIELDS = ("scale", "flip_p", "degrees", "jitter", "jitter_p", "blur_p", "blur_sigma")


def resize_clip(frames: torch.Tensor, size: int) -> torch.Tensor:
    """Evaluation view of uint8 ``(T, 3, H, W)`` frames: resized to ``size`` x ``size``."""
    if frames.shape[-2:] == (size, size):
        return frames
    return v2.functional.resize(frames, [int(size), int(size)], antialias=True)
