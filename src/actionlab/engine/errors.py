"""Which failures belong to one item (bad input) and which to our code (stop the run)."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import actionlab

PACKAGE_DIR = str(Path(actionlab.__file__).resolve().parent)
# exceptions that mean a programming error when our own code raises them
BUG_TYPES = (
    TypeError, AttributeError, NameError, ImportError, AssertionError, NotImplementedError,
    KeyError, IndexError, SyntaxError,
)  # fmt: skip


class ItemTimeout(Exception):
    """An item ran longer than ``runtime.item_timeout_s``."""


class RunStopped(RuntimeError):
    """A stage stopped: a bug in our code, every item failed, or the same error on every item."""


def _innermost_file(exc: BaseException) -> str | None:
    frames = traceback.extract_tb(exc.__traceback__)
    return frames[-1].filename if frames else None


def is_own_bug(exc: BaseException) -> bool:
    """True for a programming-error type raised in actionlab's own code (not a library's frame).

    A ``TypeError`` from our code is a bug that must stop the run; the same type raised deep in
    PyAV or numpy on one odd file is that file's problem. Chained causes are checked too, so a
    bug re-raised as another error type is still seen.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, BUG_TYPES):
            filename = _innermost_file(exc)
            if filename is not None and str(Path(filename).resolve()).startswith(PACKAGE_DIR):
                return True
        exc = exc.__cause__ or exc.__context__
    return False


_NOISE = re.compile(r"(/[^\s:'\"]+)|([0-9a-f]{8,})|(\d+(\.\d+)?)")


def error_shape(error: str) -> str:
    """An error message without its paths, ids and numbers: equal shapes mean the same failure."""
    return _NOISE.sub("#", error)
