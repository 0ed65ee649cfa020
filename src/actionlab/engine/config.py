"""The ``runtime`` parameter group: how per-video items run (no kedro here)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt

EXECUTORS = ("sequential", "processes", "dask")


class RuntimeConfig(BaseModel):
    """``runtime.*`` in ``conf/base/parameters.yml``; the defaults live in that file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    executor: Literal["sequential", "processes", "dask"] = Field(
        description="sequential (in this process) | processes (local pool) | dask (dask.distributed)"
    )
    workers: PositiveInt | None = Field(
        default=None, description="worker processes; null: one per core"
    )
    dask_address: str | None = Field(
        default=None,
        description="scheduler address (tcp://host:8786) or 'local' for a LocalCluster",
    )
    item_timeout_s: PositiveFloat | None = Field(
        default=None,
        description="seconds one item may run before it is stopped and recorded as failed",
    )
    progress: bool = Field(default=True, description="one progress bar per stage")
    remove_stale: bool = Field(
        default=False,
        description="delete stored items the current plan does not use (listed in the log either way)",
    )

    def n_workers(self) -> int:
        """Workers that run items: 1 for ``sequential``, else ``workers`` or the core count."""
        if self.executor == "sequential":
            return 1
        return int(self.workers or os.cpu_count() or 1)

    def threads_per_worker(self) -> int:
        """Library threads (torch, OpenCV, FFmpeg) per worker so workers x threads <= cores."""
        cores = os.cpu_count() or 1
        return max(1, cores // self.n_workers())
