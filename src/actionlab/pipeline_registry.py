"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# what a plain `kedro run` runs (Kedro orders the nodes by their data dependencies)
DEFAULT = (
    "ingestion", "preprocessing", "segmentation", "ssl_training", "embedding", "clustering", "classification", "anomaly",
)  # fmt: skip


def register_pipelines() -> dict[str, Pipeline]:
    """Every pipeline under ``actionlab.pipelines`` by its folder name, plus ``__default__``.

    Kedro loads only the pipelines a run asks for, so ``__default__`` is built when all of its
    parts were found (a plain ``kedro run`` or ``kedro viz``).
    """
    pipelines = find_pipelines(raise_errors=True)
    if all(name in pipelines for name in DEFAULT):
        pipelines["__default__"] = sum((pipelines[name] for name in DEFAULT), Pipeline([]))
    return pipelines
