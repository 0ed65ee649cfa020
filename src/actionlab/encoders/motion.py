"""Weight-free motion encoder: Farneback optical flow histograms + motion-history Hu moments.

For every pair of consecutive frames (grayscale) the dense Farneback flow is binned into a
``grid x grid`` spatial grid x ``bins`` orientation histogram, each pixel voting with its
flow magnitude; a cell's histogram is divided by the cell area, so it is the mean flow
magnitude (pixels per frame) per orientation - a static clip gives ~zero everywhere.
Orientation bins are centred on ``k * 360/bins`` degrees in image coordinates
(x right, y down): with 8 bins, bin 0 = rightward, 2 = downward, 4 = leftward, 6 = upward.
Feature layout: index ``(row * grid + col) * bins + bin``.

* ``frame_features``: (T, grid*grid*bins) - row t >= 1 holds the flow from frame t-1 to t;
  row 0 repeats row 1 so rows stay aligned with frames (a 1-frame clip gives one zero row).
* ``clip_embedding``: ``[mean over pairs of the histograms, 7 log-scaled Hu moments of the
  motion-history image]`` -> (grid*grid*bins + 7,). The MHI marks pixels whose flow
  magnitude exceeds ``mhi_threshold``, newer motion brighter (value = (t + 1) / pairs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from actionlab.encoders.base import Encoder, check_clip

HU_EPS = 1e-12


def log_hu(moments: np.ndarray) -> np.ndarray:
    """Signed log scaling of Hu moments, continuous at 0: ``sign(h) * log10(1 + |h| / 1e-12)``."""
    moments = np.asarray(moments, dtype=np.float64).reshape(-1)
    return np.sign(moments) * np.log10(1.0 + np.abs(moments) / HU_EPS)


class MotionEncoder(Encoder):
    """Optical-flow orientation histograms (per frame pair) + MHI Hu moments (per clip)."""

    name = "motion"

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        cfg = self.config["motion"]
        self.grid, self.bins = int(cfg["grid"]), int(cfg["bins"])
        self.flow_args = (
            float(cfg["pyr_scale"]),
            int(cfg["levels"]),
            int(cfg["winsize"]),
            int(cfg["iterations"]),
            int(cfg["poly_n"]),
            float(cfg["poly_sigma"]),
            0,
        )
        self.mhi_threshold = float(cfg["mhi_threshold"])
        if self.config.get("num_threads"):
            cv2.setNumThreads(int(self.config["num_threads"]))

    @property
    def dim(self) -> int:
        """Length of one frame feature (``grid * grid * bins``)."""
        return self.grid * self.grid * self.bins

    def flows(self, clip: np.ndarray) -> np.ndarray:
        """Farneback flow between consecutive frames: float32 (T-1, H, W, 2)."""
        clip = check_clip(clip)
        gray = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in clip]
        out = np.zeros((len(gray) - 1, *gray[0].shape, 2), np.float32)
        for t in range(len(gray) - 1):
            out[t] = cv2.calcOpticalFlowFarneback(gray[t], gray[t + 1], None, *self.flow_args)
        return out

    def _cell_index(self, height: int, width: int) -> np.ndarray:
        rows = np.arange(height) * self.grid // height
        cols = np.arange(width) * self.grid // width
        return (rows[:, None] * self.grid + cols[None, :]) * self.bins

    def histograms(self, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-pair histograms (P, grid*grid*bins) and magnitudes (P, H, W) of flows (P, H, W, 2)."""
        pairs, height, width = flow.shape[:3]
        if pairs == 0:
            return np.zeros((0, self.dim), np.float32), np.zeros((0, height, width), np.float32)
        mag, ang = cv2.cartToPolar(
            flow[..., 0].reshape(pairs * height, width), flow[..., 1].reshape(pairs * height, width)
        )
        mag, ang = mag.reshape(pairs, height, width), ang.reshape(pairs, height, width)
        width_bin = 2 * np.pi / self.bins
        obin = np.floor((ang + width_bin / 2) / width_bin).astype(np.int64) % self.bins
        index = (
            obin
            + self._cell_index(height, width)[None]
            + (np.arange(pairs) * self.dim)[:, None, None]
        )
        hist = np.bincount(index.ravel(), weights=mag.ravel(), minlength=pairs * self.dim)
        cell_area = height * width / (self.grid * self.grid)
        return (hist.reshape(pairs, self.dim) / cell_area).astype(np.float32), mag

    def mhi_hu(self, magnitudes: np.ndarray) -> np.ndarray:
        """Log-scaled Hu moments (7,) of the motion-history image built from (P, H, W) magnitudes."""
        pairs = magnitudes.shape[0]
        if pairs == 0:
            return np.zeros(7, np.float32)
        mhi = np.zeros(magnitudes.shape[1:], np.float32)
        for t in range(pairs):
            mhi[magnitudes[t] > self.mhi_threshold] = (t + 1) / pairs
        return log_hu(cv2.HuMoments(cv2.moments(mhi))).astype(np.float32)

    def encode(self, clip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hist, mag = self.histograms(self.flows(clip))
        if len(hist) == 0:
            frames = np.zeros((1, self.dim), np.float32)
            mean = frames[0]
        else:
            frames = np.concatenate([hist[:1], hist])
            mean = hist.mean(axis=0)
        return frames, np.concatenate([mean, self.mhi_hu(mag)]).astype(np.float32)
