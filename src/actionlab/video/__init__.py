"""Video core: probe, streaming decode, sampling, transforms and writing (PyAV + numpy, no kedro)."""

from actionlab.video.errors import VideoError
from actionlab.video.write import write_video

__all__ = ["VideoError", "write_video"]
