"""The `ssl_training` pipeline."""

from actionlab.pipelines.ssl_training.pipeline import create_pipeline

__all__ = ["create_pipeline"]
