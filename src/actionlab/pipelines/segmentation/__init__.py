"""The `segmentation` pipeline."""

from actionlab.pipelines.segmentation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
