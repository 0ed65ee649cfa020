"""The `embedding` pipeline."""

from actionlab.pipelines.embedding.pipeline import create_pipeline

__all__ = ["create_pipeline"]
