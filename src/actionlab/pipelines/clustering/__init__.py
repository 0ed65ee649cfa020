"""The `clustering` pipeline."""

from actionlab.pipelines.clustering.pipeline import create_pipeline

__all__ = ["create_pipeline"]
