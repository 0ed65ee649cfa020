"""Custom Kedro datasets, only where kedro-datasets has none: per-video item stores run by the engine, encoders, optional CSV state."""

from actionlab.datasets.frame_encoder_dataset import FrameEncoderDataset
from actionlab.datasets.item_store import ItemStoreDataset
from actionlab.datasets.optional_csv_dataset import OptionalCSVDataset

__all__ = ["FrameEncoderDataset", "ItemStoreDataset", "OptionalCSVDataset"]
