"""Video core: probe, streaming decode, sampling, transforms and writing (PyAV + numpy, no kedro)."""

from actionlab.video.clipfile import (
    ClipSummary,
    ClipWriter,
    clip_length,
    clip_warnings,
    read_clip,
    write_clip,
)
from actionlab.video.decode import (
    Clip,
    iter_clip,
    iter_frames,
    load_clip,
    read_frames,
    set_decode_threads,
)
from actionlab.video.errors import VideoError
from actionlab.video.probe import VideoInfo, probe
from actionlab.video.sampling import (
    cosine_select,
    large_step,
    large_step_indices,
    sample_indices,
    step_indices,
    uniform_indices,
)
from actionlab.video.transforms import center_crop_square, crop_resize, resize, rotate_frame
from actionlab.video.write import convert_to_mp4, write_video

__all__ = [
    "Clip",
    "ClipSummary",
    "ClipWriter",
    "VideoError",
    "VideoInfo",
    "center_crop_square",
    "clip_length",
    "clip_warnings",
    "convert_to_mp4",
    "cosine_select",
    "crop_resize",
    "iter_clip",
    "iter_frames",
    "large_step",
    "large_step_indices",
    "load_clip",
    "probe",
    "read_clip",
    "read_frames",
    "resize",
    "rotate_frame",
    "sample_indices",
    "set_decode_threads",
    "step_indices",
    "uniform_indices",
    "write_clip",
    "write_video",
]
