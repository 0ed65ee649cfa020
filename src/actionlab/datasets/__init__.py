"""Custom Kedro datasets, only where kedro-datasets has none: arrays, partitions saved incrementally, encoders."""

from actionlab.datasets.frame_encoder_dataset import FrameEncoderDataset
from actionlab.datasets.incremental_partitions import IncrementalPartitionedDataset
from actionlab.datasets.item_store import ItemStoreDataset
from actionlab.datasets.npz_dataset import NpzDataset

__all__ = ["FrameEncoderDataset", "IncrementalPartitionedDataset", "ItemStoreDataset", "NpzDataset"]
