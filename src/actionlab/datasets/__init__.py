"""Custom Kedro datasets, only where kedro-datasets has none: per-video item stores run by the engine, encoders."""

from actionlab.datasets.frame_encoder_dataset import FrameEncoderDataset
from actionlab.datasets.item_store import ItemStoreDataset

__all__ = ["FrameEncoderDataset", "ItemStoreDataset"]
