"""Per-video work: executors, isolation, timeouts, atomic writes, cache keys, the item index (no kedro)."""

from actionlab.engine.atomic import atomic_path, clean_temp, is_temp, write_bytes
from actionlab.engine.config import EXECUTORS, RuntimeConfig

__all__ = ["EXECUTORS", "RuntimeConfig", "atomic_path", "clean_temp", "is_temp", "write_bytes"]
