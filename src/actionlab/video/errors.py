"""The one error type the video room raises, and how a bug in our code is told from bad input."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from actionlab.engine.errors import BUG_TYPES, is_own_bug

__all__ = ["BUG_TYPES", "VideoError", "as_video_error", "is_own_bug"]


class VideoError(Exception):
    """A video could not be read or written; the message names the file and the fix."""


@contextlib.contextmanager
def as_video_error(path: str | Path) -> Iterator[None]:
    """Turn a library failure while handling ``path`` into a VideoError naming the file.

    Callers (ingestion, preprocessing) catch VideoError only: a decoder or library surprise on
    one user file (``av.error.*``, ``OSError``, ``ValueError``, ``RuntimeError``, ``EOFError``,
    any error raised inside third-party code) must not stop a whole batch. A bug in actionlab's
    own code (see :func:`is_own_bug`) propagates unchanged, so a regression fails loudly
    instead of silently rejecting every video. MemoryError and VideoError pass through too.
    """
    try:
        yield
    except (VideoError, MemoryError):
        raise
    except Exception as err:
        if is_own_bug(err):
            raise
        raise VideoError(
            f"{path}: unexpected failure while reading the video ({type(err).__name__}: {err}); "
            "re-export it (e.g. to H.264 mp4 with convert_to_mp4) and report the file if it persists."
        ) from err
