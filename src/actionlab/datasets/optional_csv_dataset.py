"""A pandas CSV whose missing file loads as an empty table and whose save is atomic: state a
node reads back on the next run, which a kill mid-write must never leave half-written."""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.io.core import get_filepath_str
from kedro_datasets.pandas import CSVDataset

from actionlab.engine import atomic_path


class OptionalCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` that loads a missing file as an empty table with ``columns``.

    Every column loads as text (empty cells as ``""``) unless ``load_args`` say otherwise, so
    ids such as ``0123`` keep their leading zeros. Used for the saved split table: one catalog
    entry reads the last run's file (absent on the first run) and another writes the new one.
    """

    DEFAULT_LOAD_ARGS: dict[str, Any] = {"dtype": str, "keep_default_na": False}

    def __init__(self, *, filepath: str, columns: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(filepath=filepath, **kwargs)
        self._columns = list(columns or [])

    def load(self) -> pd.DataFrame:
        if not self._exists():
            return pd.DataFrame({c: pd.Series(dtype=object) for c in self._columns})
        return super().load()

    def save(self, data: pd.DataFrame) -> None:
        target = get_filepath_str(self._filepath, self._protocol)
        if self._protocol not in ("file", None):
            target = f"{self._protocol}://{target}"
        with atomic_path(target) as tmp:
            data.to_csv(tmp, **self._save_args)
        self._invalidate_cache()

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "columns": self._columns}
