"""The one error type the video room raises."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


class VideoError(Exception):
    """A video could not be read or written; the message names the file and the fix."""


@contextlib.contextmanager
def as_video_error(path: str | Path) -> Iterator[None]:
    """Turn any unexpected failure while handling ``path`` into a VideoError naming the file.

    Callers (ingestion, preprocessing) catch VideoError only: a decoder or library surprise on
    one user file must not stop a whole batch. MemoryError and VideoError pass through.
    """
    try:
        yield
    except (VideoError, MemoryError):
        raise
    except Exception as err:
        raise VideoError(
            f"{path}: unexpected failure while reading the video ({type(err).__name__}: {err}); "
            "re-export it (e.g. to H.264 mp4 with convert_to_mp4) and report the file if it persists."
        ) from err
