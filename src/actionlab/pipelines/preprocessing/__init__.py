"""The `preprocessing` pipeline."""

from actionlab.pipelines.preprocessing.pipeline import create_pipeline

__all__ = ["create_pipeline"]
