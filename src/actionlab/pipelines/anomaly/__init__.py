"""The `anomaly` pipeline: one-class scorers per target action, thresholds, reports."""

from actionlab.pipelines.anomaly.pipeline import create_pipeline

__all__ = ["create_pipeline"]
