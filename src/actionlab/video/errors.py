"""The one error type the video room raises, and how a bug in our code is told from bad input."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator
from pathlib import Path

import actionlab

__all__ = ["BUG_TYPES", "VideoError", "as_video_error", "is_own_bug"]

PACKAGE_DIR = Path(actionlab.__file__).resolve().parent
# exception types that mean a programming error when actionlab's own code raises them
BUG_TYPES: tuple[type[BaseException], ...] = (
    TypeError, AttributeError, NameError, ImportError, AssertionError, NotImplementedError,
    KeyError, IndexError,
)  # fmt: skip


class VideoError(Exception):
    """A video could not be read or written; the message names the file and the fix."""


def _in_package(filename: str) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(PACKAGE_DIR)
    except (OSError, ValueError):
        return False


def is_own_bug(exc: BaseException) -> bool:
    """True when ``exc`` is a programming-error type (``BUG_TYPES``) raised in actionlab's code.

    "Raised in" means the innermost traceback frame is a file of the actionlab package: a
    ``TypeError`` from our own line (a call with a wrong argument, ``len(None)``) is a bug that
    must stop a run, while the same type raised inside PyAV or numpy on one odd file is that
    file's problem. Only ``exc`` itself is judged, not its ``__cause__``/``__context__``: our code
    may catch a ``KeyError`` on purpose and raise a ``VideoError`` for the file instead.
    """
    if not isinstance(exc, BUG_TYPES):
        return False
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and _in_package(frames[-1].filename)


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
