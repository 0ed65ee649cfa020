"""Torch modules: frame encoder, SimSiam, temporal models, autoencoders (no kedro)."""

from actionlab.models.augment import TwoViewAugment
from actionlab.models.data import ArrayReader, ClipWindows, make_loader
from actionlab.models.frame_encoder import (
    INPUT_MODES,
    FrameEncoder,
    load_backbone_weights,
    load_frame_encoder,
    prepare_clip,
    prepare_windows,
    save_frame_encoder,
)
from actionlab.models.simsiam import SimSiam, collapse_std, simsiam_loss
from actionlab.models.ssl_train import DEFAULT_CONFIG, sample_windows, train_simsiam

__all__ = [
    "DEFAULT_CONFIG",
    "INPUT_MODES",
    "ArrayReader",
    "ClipWindows",
    "FrameEncoder",
    "SimSiam",
    "TwoViewAugment",
    "collapse_std",
    "load_backbone_weights",
    "load_frame_encoder",
    "make_loader",
    "prepare_clip",
    "prepare_windows",
    "sample_windows",
    "save_frame_encoder",
    "simsiam_loss",
    "train_simsiam",
]
