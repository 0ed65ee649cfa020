"""Inference on new videos: time ranges, windows, action timelines (no kedro).

The timeline API is re-exported here; the predictor (``actionlab.inference.predictor``), the
MLflow pyfunc model (``.pyfunc``) and the ONNX export (``.onnx_export``, optional extra) are
imported from their modules.
"""

from actionlab.inference import timeline as _timeline
from actionlab.inference.timeline import *  # noqa: F403

__all__ = list(_timeline.__all__)
