"""ClipAugment: one random transform per clip, identical on every frame; never at evaluation."""

import numpy as np
import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as TF

from actionlab.models.augment import ClipAugment, resize_clip
from actionlab.models.clip_data import ArrayClips, ClipDataset
from tests.models.clip_helpers import moving_square


def _noise_clip(frames: int = 5, size: int = 40, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(0, 256, size=(frames, 3, size, size), dtype=np.uint8))


FULL = {"degrees": 15.0, "jitter_p": 1.0, "blur_p": 1.0}  # every step on


def test_a_clip_of_identical_frames_stays_identical_frames() -> None:
    clip = _noise_clip(1).repeat(6, 1, 1, 1)
    augment = ClipAugment(24, **FULL)
    outputs = [augment(clip) for _ in range(8)]
    for out in outputs:
        assert out.shape == (6, 3, 24, 24) and out.dtype == torch.uint8
        assert type(out) is torch.Tensor
        assert all(torch.equal(out[0], out[t]) for t in range(1, 6))
    # the transform is random: different draws give different clips
    assert any(not torch.equal(outputs[0], o) for o in outputs[1:])
    assert not torch.equal(outputs[0], resize_clip(clip, 24))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_frame_gets_the_transform_drawn_for_the_clip(seed: int) -> None:
    """Each frame of the augmented clip equals that frame pushed alone through the same
    pipeline with the same random state, i.e. with the same sampled parameters."""
    clip = _noise_clip(4, seed=seed)  # frames differ from each other
    augment = ClipAugment(24, **FULL)
    torch.manual_seed(seed)
    out = augment(clip)
    for t in range(len(clip)):
        torch.manual_seed(seed)
        alone = augment.transform(tv_tensors.Image(clip[t]))
        assert torch.equal(out[t], alone)


def test_flip_only_matches_the_functional_ops() -> None:
    clip = _noise_clip(3)
    augment = ClipAugment(24, scale=(1.0, 1.0), flip_p=1.0, degrees=0.0, jitter_p=0.0)
    expected = TF.horizontal_flip(TF.resize(clip, [24, 24], antialias=True))
    # scale 1 with a random aspect ratio falls back to the whole (square) frame
    assert torch.equal(augment(clip), expected)


def test_the_dataset_augments_training_windows_only() -> None:
    clip = moving_square(0, frames=8, size=32)
    data = ClipDataset(
        ["0"], [8], [0], ArrayClips([clip]), frames_per_clip=8, stride=1, size=32,
        augment=ClipAugment(32, **FULL),
    )  # fmt: skip
    plain = torch.from_numpy(clip).permute(0, 3, 1, 2).float() / 255
    assert data.augment is None  # evaluation: never augmented
    assert torch.equal(data[0][0], plain)
    train = ClipDataset(
        ["0"], [8], [0], ArrayClips([clip]), frames_per_clip=8, stride=1, size=32, train=True,
        augment=ClipAugment(32, **FULL),
    )  # fmt: skip
    torch.manual_seed(0)
    assert not torch.equal(train[0][0], plain)
    assert not torch.equal(train.with_views(1)[0][0], train[0][0])
    assert torch.equal(train.with_views(1)[0][0], plain)
