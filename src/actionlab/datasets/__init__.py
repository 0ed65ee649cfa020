"""Custom Kedro datasets, only where kedro-datasets has none: the raw videos handle, per-video item
stores run by the engine, encoders, classifiers, optional CSV and Parquet tables, overlay videos."""

from actionlab.datasets.classifier_dataset import ClassifierDataset
from actionlab.datasets.frame_encoder_dataset import FrameEncoderDataset
from actionlab.datasets.item_store import ItemStoreDataset
from actionlab.datasets.optional_csv_dataset import OptionalCSVDataset
from actionlab.datasets.optional_parquet_dataset import OptionalParquetDataset
from actionlab.datasets.overlay_video_dataset import OverlayVideoDataset
from actionlab.datasets.raw_videos_dataset import RawVideos, RawVideosDataset

__all__ = [
    "ClassifierDataset",
    "FrameEncoderDataset", "ItemStoreDataset", "OptionalCSVDataset", "OptionalParquetDataset", "OverlayVideoDataset", "RawVideos", "RawVideosDataset",
]
