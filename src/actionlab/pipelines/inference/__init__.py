"""Classify one new video with a trained classifier (``kedro run --pipeline inference``)."""

from actionlab.pipelines.inference.pipeline import create_pipeline

__all__ = ["create_pipeline"]
