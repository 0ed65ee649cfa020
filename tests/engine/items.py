"""Item functions for the engine tests (module level, so worker processes can import them)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np

from actionlab.engine import current_threads
from actionlab.keys import content_hash


def square(out: Path | None, x: int, fail_unless: str | None = None, sleep: float = 0.0) -> dict:
    """Write x * [1, 1, 1] to ``out``; fail while the file ``fail_unless`` does not exist."""
    if fail_unless is not None and not Path(fail_unless).exists():
        raise ValueError(f"input {x} is bad until {fail_unless} exists")
    time.sleep(sleep)
    if out is not None:
        with open(out, "wb") as handle:
            np.save(handle, np.full(3, x * x))
    return {"y": x * x, "pid": os.getpid(), "threads": current_threads()}


def die(out: Path | None, x: int) -> dict:
    """Item 0 kills its worker process (as the out-of-memory killer would); the others succeed."""
    if x == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return square(out, x)


def our_bug(out: Path | None, x: int) -> dict:
    """A programming error inside actionlab's own code."""
    return {"hash": content_hash(None)}  # type: ignore[arg-type]


def same_failure(out: Path | None, x: int) -> dict:
    raise RuntimeError("the model file /models/x.pt is missing")


def scale(out: Path | None, x: int, shared: dict) -> dict:
    """Uses a large object shipped once per worker."""
    return {"y": x * int(shared["factor"]), "size": int(shared["blob"].size)}


CALLS: list[int] = []  # group sizes seen by square_many (sequential executor: same process)


def square_many(outs: list[Path], args: list[dict]) -> list[dict]:
    """Several items at once; fails the whole group when one argument is bad."""
    CALLS.append(len(outs))
    if any(a.get("fail_unless") and not Path(a["fail_unless"]).exists() for a in args):
        raise ValueError("one bad item in the group")
    return [square(out, **a) for out, a in zip(outs, args, strict=True)]
