"""The `classification` pipeline."""

from actionlab.pipelines.classification.pipeline import create_pipeline

__all__ = ["create_pipeline"]
