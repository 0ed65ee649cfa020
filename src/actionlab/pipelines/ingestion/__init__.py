"""The `ingestion` pipeline."""

from actionlab.pipelines.ingestion.pipeline import create_pipeline

__all__ = ["create_pipeline"]
