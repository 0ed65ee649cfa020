"""A pandas Parquet table that loads as ``None`` while its file does not exist yet."""

from __future__ import annotations

import pandas as pd
from kedro_datasets.pandas import ParquetDataset


class OptionalParquetDataset(ParquetDataset):
    """``pandas.ParquetDataset`` whose missing file loads as ``None``: an input a node can do
    without (the segmentation index, which the embedding pipeline needs only with
    ``embedding.input: segmented``)."""

    def load(self) -> pd.DataFrame | None:  # type: ignore[override]
        return super().load() if self._exists() else None
