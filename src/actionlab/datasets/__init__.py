"""Custom Kedro datasets, only where kedro-datasets has none: the raw videos handle, per-video item
stores run by the engine, encoders, optional CSV state."""

from actionlab.datasets.frame_encoder_dataset import FrameEncoderDataset
from actionlab.datasets.item_store import ItemStoreDataset
from actionlab.datasets.optional_csv_dataset import OptionalCSVDataset
from actionlab.datasets.raw_videos_dataset import RawVideos, RawVideosDataset

__all__ = ["FrameEncoderDataset", "ItemStoreDataset", "OptionalCSVDataset", "RawVideos", "RawVideosDataset"]
