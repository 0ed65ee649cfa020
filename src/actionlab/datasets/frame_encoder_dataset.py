"""The trained frame encoder (config + state dict), loaded with ``torch.load(weights_only=True)``."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset

from actionlab.engine import atomic_path
from actionlab.models import FrameEncoder, load_frame_encoder, save_frame_encoder


class FrameEncoderDataset(AbstractDataset[FrameEncoder, FrameEncoder | None]):
    """Saves a ``FrameEncoder``; loading a file that does not exist yet returns ``None`` so that
    pipelines which only need the encoder for ``embedding.encoder=ssl`` can run without it; the
    node that needs it raises the error that says how to train it."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> FrameEncoder | None:
        path = Path(self._filepath)
        return load_frame_encoder(path) if path.is_file() else None

    def save(self, data: FrameEncoder) -> None:
        with atomic_path(self._filepath) as tmp:  # a kill never leaves a half-written model
            save_frame_encoder(data, tmp)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
