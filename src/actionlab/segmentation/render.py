"""Pictures of masks: coloured objects with their IDs drawn on frames, and the two videos a user
watches per segmented clip, the overlay and the background-removed clip (no kedro)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from matplotlib import colormaps

from actionlab.segmentation.masks import decode_masks
from actionlab.video.write import write_video

Reader = Callable[[int, int], Mapping[str, np.ndarray]]
_ALPHA = 0.5  # weight of an object's colour over its pixels


def object_color(object_id: int) -> tuple[int, int, int]:
    """An RGB colour per object ID (tab10, cycling): the same ID has the same colour everywhere."""
    r, g, b, _ = colormaps["tab10"](int(object_id) % 10)
    return int(255 * r), int(255 * g), int(255 * b)


def draw_objects(frame: np.ndarray, masks: pd.DataFrame) -> np.ndarray:
    """``frame`` (H, W, 3 uint8) with each row of a one-frame mask table blended in its object's
    colour, outlined, and labelled ``<object_id> <label>`` at the mask's centre."""
    out = frame.astype(np.float32)
    rows = masks.to_dict("records")
    shapes = decode_masks(masks) if rows else []
    for row, mask in zip(rows, shapes, strict=True):
        color = np.array(object_color(row["object_id"]), np.float32)
        out[mask] = (1 - _ALPHA) * out[mask] + _ALPHA * color
    out = np.clip(out, 0, 255).astype(np.uint8)
    scale = max(0.3, min(frame.shape[:2]) / 400)
    for row, mask in zip(rows, shapes, strict=True):
        color = object_color(row["object_id"])
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, color, 1)
        ys, xs = np.nonzero(mask)
        if len(xs):
            text = f"{row['object_id']} {row['label']}".strip()
            org = (int(xs.mean()), int(ys.mean()))
            cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 2, cv2.LINE_AA)
            cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def fps_of(times: np.ndarray, default: float = 25.0) -> float:
    """Frame rate of a clip from its frames' times (the median step), ``default`` when unknown."""
    steps = np.diff(np.asarray(times, np.float64))
    steps = steps[steps > 0]
    return float(1.0 / np.median(steps)) if len(steps) else default


@dataclass(frozen=True)
class MaskVideo:
    """A video still to be written (what a node returns; ``OverlayVideoDataset`` writes it): the
    frames ``read`` returns, with the objects of ``masks`` drawn on them when it is given."""

    read: Reader
    frames: int
    fps: float
    masks: pd.DataFrame | None = None
    chunk: int = 32

    def _frames(self) -> Iterator[np.ndarray]:
        by_frame = self.masks.groupby("frame") if self.masks is not None and len(self.masks) else None
        present = set(by_frame.groups) if by_frame is not None else set()
        for start in range(0, self.frames, self.chunk):
            window = self.read(start, min(start + self.chunk, self.frames))["frames"]
            for k, frame in enumerate(window, start=start):
                yield draw_objects(frame, by_frame.get_group(k)) if k in present else frame

    def write(self, dst: str | Path) -> Path:
        """Encode the frames to ``dst`` (H.264 mp4 that plays in a browser), one window at a time."""
        return write_video(dst, self._frames(), fps=self.fps, crf=20)

    def sample(self, count: int) -> list[np.ndarray]:
        """``count`` evenly spread frames as they appear in the video (for contact sheets)."""
        picks = np.unique(np.linspace(0, self.frames - 1, num=min(count, self.frames)).round().astype(int))
        out = []
        by_frame = self.masks.groupby("frame") if self.masks is not None and len(self.masks) else None
        present = set(by_frame.groups) if by_frame is not None else set()
        for k in picks:
            frame = self.read(int(k), int(k) + 1)["frames"][0]
            out.append(draw_objects(frame, by_frame.get_group(k)) if k in present else frame)
        return out
