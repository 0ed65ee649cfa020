"""Which failures belong to one item (bad input) and which to our code (stop the run)."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import actionlab

PACKAGE_DIR = Path(actionlab.__file__).resolve().parent
# exceptions that mean a programming error when our own code raises them
BUG_TYPES: tuple[type[BaseException], ...] = (
    TypeError, AttributeError, NameError, ImportError, AssertionError, NotImplementedError,
    KeyError, IndexError, SyntaxError,
)  # fmt: skip


class ItemTimeout(Exception):
    """An item ran longer than ``runtime.item_timeout_s``."""


class RunStopped(RuntimeError):
    """A stage stopped: a bug in our code, every item failed, or the same error on every item."""


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
    may catch a ``KeyError`` on purpose and raise an input error for the file instead.
    """
    if not isinstance(exc, BUG_TYPES):
        return False
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and _in_package(frames[-1].filename)


_NOISE = re.compile(r"(/[^\s:'\"]+)|([0-9a-f]{8,})|(\d+(\.\d+)?)")


def error_shape(error: str) -> str:
    """An error message without its paths, ids and numbers: equal shapes mean the same failure."""
    return _NOISE.sub("#", error)
