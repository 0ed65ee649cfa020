"""Write frames as browser-playable H.264 mp4 through PyAV."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from actionlab.video.errors import VideoError


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float = 25.0,
    *,
    crf: int = 18,
    codec: str = "libx264",
) -> Path:
    """Write RGB uint8 frames (H, W, 3) to ``path`` as yuv420p H.264 (+faststart for browsers).

    Odd sizes are padded by one pixel (yuv420p needs even dimensions). Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    stream = None
    try:
        with av.open(str(path), mode="w", options={"movflags": "+faststart"}) as container:
            for frame in frames:
                frame = np.ascontiguousarray(frame, dtype=np.uint8)
                if frame.ndim == 2:
                    frame = np.repeat(frame[..., None], 3, axis=2)
                if stream is None:
                    h, w = frame.shape[:2]
                    stream = container.add_stream(codec, rate=rate)
                    stream.width, stream.height = w + w % 2, h + h % 2
                    stream.pix_fmt = "yuv420p"
                    stream.options = {"crf": str(crf), "threads": "1"}
                if frame.shape[0] != stream.height or frame.shape[1] != stream.width:
                    frame = np.pad(
                        frame,
                        ((0, stream.height - frame.shape[0]), (0, stream.width - frame.shape[1]), (0, 0)),
                        mode="edge",
                    )
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            if stream is None:
                raise VideoError(f"{path}: no frames to write; pass at least one (H, W, 3) frame.")
            for packet in stream.encode():
                container.mux(packet)
    except av.FFmpegError as err:
        raise VideoError(f"{path}: could not write video ({err}).") from err
    return path
