"""A video still to be written (an ``actionlab.video.overlay.Overlay``, a segmentation
``MaskVideo``: anything with ``write(dst)``) saved as a browser-playable mp4."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset

from actionlab.video.overlay import Overlay


class OverlayVideoDataset(AbstractDataset[Overlay, Path]):
    """Save renders the overlay to ``filepath`` (H.264, complete or absent); load returns the path."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def save(self, data: Overlay) -> None:
        Path(self._filepath).parent.mkdir(parents=True, exist_ok=True)
        data.write(Path(self._filepath))

    def load(self) -> Path:
        return Path(self._filepath)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
