"""Per-video work: executors, isolation, timeouts, atomic writes, cache keys, the item index (no kedro)."""

from actionlab.engine.atomic import atomic_path, clean_temp, is_temp, write_bytes
from actionlab.engine.config import EXECUTORS, RuntimeConfig
from actionlab.engine.errors import ItemTimeout, RunStopped, is_own_bug
from actionlab.engine.run import (
    CACHED,
    DONE,
    FAILED,
    Batch,
    Grouped,
    Item,
    Outcome,
    current_threads,
    run_items,
)
from actionlab.engine.store import PartitionStore

__all__ = [
    "Batch", "CACHED", "DONE", "EXECUTORS", "FAILED", "Grouped", "Item", "ItemTimeout", "Outcome", "PartitionStore",
    "RunStopped", "RuntimeConfig", "atomic_path", "clean_temp", "current_threads", "is_own_bug",
    "is_temp", "run_items", "write_bytes",
]  # fmt: skip
