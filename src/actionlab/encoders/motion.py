"""Weight-free motion encoder: figure-centric optical-flow histograms + motion statistics.

Per pair of consecutive frames (grayscale):

1. **Camera jitter** - the integer global translation ``(dx, dy)`` (``|dx|, |dy| <=
   align_radius``) that best matches the border ring of the two (5x5 Gaussian-blurred) frames
   is found by a coarse-to-fine search (see ``global_shift``: fewest ring pixels whose grey
   level changes by more than 3; a static camera keeps ``(0, 0)``); the second frame is
   shifted back by it *before* the Farneback flow is computed, so the background - textured
   or flat - has ~zero flow. Pixels the shift brings in from outside the frame get no vote.
2. **Noise** - a pixel votes only where its flow magnitude exceeds ``flow_threshold``
   (px/frame) *and* the aligned, blurred frames differ there by more than ``diff_threshold``
   grey levels (the change mask is dilated by ``diff_dilate`` px): flat regions and sensor
   noise give no votes.
3. **Figure box** - the votes (flow magnitude) summed over the clip form a motion-energy map;
   its ``box_quantile`` .. ``1 - box_quantile`` weighted quantiles along y and x give the
   moving region, which is made square (side = the longer extent) and widened by
   ``box_margin`` of its side on every side. All spatial cells live in this box (pixels outside
   fall into the nearest border cell), so the same action lands in the same cells wherever the
   figure stands and whatever its size.

Orientation histograms: each voting pixel adds its flow magnitude to the two orientation bins
nearest its flow angle (linear interpolation); bins are centred on ``k * 360/bins`` degrees in
image coordinates (x right, y down): with 8 bins, bin 0 = rightward, 2 = downward,
4 = leftward, 6 = upward. Cell layout of a ``g x g`` level: index ``(row * g + col) * bins + bin``
(rows/cols of the figure box).

* ``frame_features``: (T, grid*grid*bins) - row t >= 1 holds the ``grid x grid`` box-cell
  histograms of the flow from frame t-1 to t, divided by the clip's mean votes per pair (rows
  of a moving clip average to a total of 1; magnitude, scale and speed cancel); row 0 repeats
  row 1 (a 1-frame clip gives one zero row). Left and right stay distinct here.
* ``clip_embedding``: the concatenation of

  - for each level ``g`` of the spatial pyramid (``(grid - 1, grid)`` when ``pyramid``, else
    ``(grid,)``; levels < 1 dropped): the mean over pairs of the ``g x g`` histograms,
    L1-normalised. With ``mirror`` the histogram is made left/right mirror-invariant (it is
    added to its mirror image: columns reversed, orientation ``b -> bins/2 - b``) and only the
    ``ceil(g / 2)`` left columns are kept -> ``g * ceil(g/2) * bins`` values per level
    (``g * g * bins`` without ``mirror``);
  - 2 size values: ``log1p(mean votes per pair / box side)`` (motion energy relative to the
    figure size) and ``log(box side / frame height)``;
  - 3 temporal values: std over pairs of the vote centroid's y and x (in box sides) and
    ``log(mean |v_y| / mean |v_x|)`` of the vote-weighted mean velocity (vertical vs
    horizontal motion);
  - 12 rhythm values: for the top and the bottom half of the box, for the signals vote-weighted
    mean v_x, mean v_y and total votes per pair: the spectral centroid and the dominant
    frequency (cycles per frame pair) of the signal's amplitude spectrum (mean removed);
  - ``hu_moments`` (0..7) leading log-scaled Hu moments of the motion-history image cropped to
    the box (a pixel is marked at pair t when its vote exceeds ``mhi_threshold``, newer
    motion brighter: value = (t + 1) / pairs).

  With the defaults (grid 3, bins 8, pyramid, mirror, hu_moments 0): 16 + 48 + 2 + 3 + 12
  = 81 values. A static clip gives all zeros. (Two Hu moments tipped KMeans on ud810 from NMI
  1.0 to 0.71 through the pipeline, so they are off by default.)

``config["motion"]`` keys (defaults)::

    grid: 3              # grid x grid box cells (frame features; finest pyramid level)
    bins: 8              # orientation bins: 0 = rightward, 2 = downward, 4 = leftward, 6 = upward
    pyr_scale: 0.5       # cv2.calcOpticalFlowFarneback arguments
    levels: 3
    winsize: 15
    iterations: 3
    poly_n: 5
    poly_sigma: 1.2
    mhi_threshold: 1.0   # vote (flow magnitude, px/frame) that marks a pixel in the MHI
    align_radius: 3      # largest camera-jitter shift searched (px per pair); 0 = no alignment
    flow_threshold: 0.3  # flow magnitude (px/frame) below which a pixel does not vote
    diff_threshold: 6    # grey-level change (blurred, aligned frames) a voting pixel needs
    diff_dilate: 2       # dilation (px) of that change mask
    box_quantile: 0.02   # weighted quantile of the motion energy that bounds the figure box
    box_margin: 0.1      # margin added to each side of the box (fraction of its side)
    pyramid: true        # clip histograms on (grid - 1, grid) cells; false: grid only
    mirror: true         # left/right mirror-invariant clip histograms
    hu_moments: 0        # leading MHI Hu moments in the clip embedding (0..7)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from actionlab.encoders.base import Encoder, check_clip
from actionlab.video.stabilize import motion_fields, square_box

HU_EPS = 1e-12

#: Number of rhythm values: 2 box halves x 3 signals x (centroid, dominant frequency).
RHYTHM_DIM = 12


def log_hu(moments: np.ndarray) -> np.ndarray:
    """Signed log scaling of Hu moments, continuous at 0: ``sign(h) * log10(1 + |h| / 1e-12)``."""
    moments = np.asarray(moments, dtype=np.float64).reshape(-1)
    return np.sign(moments) * np.log10(1.0 + np.abs(moments) / HU_EPS)


def _spectrum_stats(signal: np.ndarray) -> list[float]:
    """Spectral centroid and dominant frequency (cycles per sample) of ``signal`` (mean removed)."""
    if len(signal) < 3:
        return [0.0, 0.0]
    spec = np.abs(np.fft.rfft(signal - signal.mean()))[1:]
    freq = np.fft.rfftfreq(len(signal))[1:]
    total = spec.sum()
    if total <= 1e-9 * max(1.0, float(np.abs(signal).max())):
        return [0.0, 0.0]
    return [float((spec * freq).sum() / total), float(freq[int(spec.argmax())])]


class MotionEncoder(Encoder):
    """Figure-centric optical-flow histograms (per frame pair) + clip motion statistics."""

    name = "motion"

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        cfg = dict(self.config["motion"])  # defaults: base.DEFAULT_CONFIG["motion"]
        self.grid, self.bins = int(cfg["grid"]), int(cfg["bins"])
        if self.grid < 1 or self.bins < 2:
            raise ValueError(
                f"motion.grid={self.grid} must be >= 1 and motion.bins={self.bins} >= 2."
            )
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
        self.align_radius = int(cfg["align_radius"])
        self.flow_threshold = float(cfg["flow_threshold"])
        self.diff_threshold = float(cfg["diff_threshold"])
        self.diff_dilate = int(cfg["diff_dilate"])
        self.box_quantile = float(cfg["box_quantile"])
        self.box_margin = float(cfg["box_margin"])
        self.mirror = bool(cfg["mirror"])
        self.hu_moments = int(cfg["hu_moments"])
        if not 0 <= self.hu_moments <= 7:
            raise ValueError(f"motion.hu_moments={self.hu_moments}; expected 0..7.")
        if not 0.0 <= self.box_quantile < 0.5:
            raise ValueError(f"motion.box_quantile={self.box_quantile}; expected 0 <= q < 0.5.")
        levels = (self.grid - 1, self.grid) if cfg["pyramid"] else (self.grid,)
        self.pyramid = tuple(g for g in levels if g >= 1)
        if self.config.get("num_threads"):
            cv2.setNumThreads(int(self.config["num_threads"]))

    @property
    def dim(self) -> int:
        """Length of one frame feature (``grid * grid * bins``)."""
        return self.grid * self.grid * self.bins

    @property
    def clip_dim(self) -> int:
        """Length of the clip embedding."""
        cols = (lambda g: (g + 1) // 2) if self.mirror else (lambda g: g)
        hist = sum(g * cols(g) * self.bins for g in self.pyramid)
        return hist + 2 + 3 + RHYTHM_DIM + self.hu_moments

    # ------------------------------------------------------------------------------ flow

    def motion_fields(self, clip: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Camera-compensated flow, votes and camera shifts of the P = T-1 frame pairs.

        Returns ``flow`` float32 (P, H, W, 2) (flow of pair t after frame t+1 was shifted back by
        the camera shift), ``votes`` float32 (P, H, W) (flow magnitude where the pixel votes,
        else 0) and ``shifts`` int (P, 2) (the ``(dx, dy)`` camera shift of each pair).
        """
        return motion_fields(
            check_clip(clip),
            align_radius=self.align_radius,
            flow_threshold=self.flow_threshold,
            diff_threshold=self.diff_threshold,
            diff_dilate=self.diff_dilate,
            farneback=self.flow_args,
        )

    def flows(self, clip: np.ndarray) -> np.ndarray:
        """Camera-compensated Farneback flow between consecutive frames: float32 (T-1, H, W, 2)."""
        return self.motion_fields(clip)[0]

    # ------------------------------------------------------------------------------- box

    def figure_box(self, votes: np.ndarray) -> tuple[float, float, float, float]:
        """Square box ``(y0, y1, x0, x1)`` around the motion energy of (P, H, W) votes (whole
        frame when nothing moves)."""
        return square_box(votes.sum(axis=0), self.box_quantile, self.box_margin)

    # -------------------------------------------------------------------------- features

    def _sparse(self, flow: np.ndarray, votes: np.ndarray) -> dict[str, np.ndarray]:
        """The voting pixels: pair ``t``, row ``y``, column ``x``, vote ``w``, flow ``vx``/``vy``
        and orientation-bin position ``pos`` (float, bin k centred on k)."""
        t, y, x = np.nonzero(votes)
        vec = flow[t, y, x].astype(np.float64)
        ang = np.arctan2(vec[:, 1], vec[:, 0]) % (2 * np.pi)
        return {
            "t": t,
            "y": y,
            "x": x,
            "w": votes[t, y, x].astype(np.float64),
            "vx": vec[:, 0],
            "vy": vec[:, 1],
            "pos": ang / (2 * np.pi / self.bins),
        }

    def _histograms(
        self,
        sparse: dict[str, np.ndarray],
        shape: tuple[int, int, int],
        box: tuple[float, float, float, float],
        g: int,
    ) -> np.ndarray:
        """(P, g*g*bins) soft orientation histograms of the votes in the g x g box cells."""
        pairs, height, width = shape
        dim = g * g * self.bins
        t, y, x, w, pos = (sparse[k] for k in ("t", "y", "x", "w", "pos"))
        if len(t) == 0:
            return np.zeros((pairs, dim), np.float64)
        y0, y1, x0, x1 = box
        side_y, side_x = max(y1 - y0, 1e-6), max(x1 - x0, 1e-6)
        rows = np.clip(np.floor((np.arange(height) - y0) / side_y * g), 0, g - 1).astype(np.int64)
        cols = np.clip(np.floor((np.arange(width) - x0) / side_x * g), 0, g - 1).astype(np.int64)
        lo = np.floor(pos).astype(np.int64)
        frac = pos - lo
        base = t * dim + (rows[y] * g + cols[x]) * self.bins
        size = pairs * dim
        hist = np.bincount(base + lo % self.bins, weights=w * (1 - frac), minlength=size)
        hist += np.bincount(base + (lo + 1) % self.bins, weights=w * frac, minlength=size)
        return hist.reshape(pairs, dim)

    def _mirror_fold(self, hist: np.ndarray, g: int) -> np.ndarray:
        """Add the left/right mirror image (columns reversed, orientation b -> bins/2 - b) and keep
        the ``ceil(g/2)`` left columns."""
        cells = hist.reshape(g, g, self.bins)
        flip = (self.bins // 2 - np.arange(self.bins)) % self.bins
        mirrored = cells[:, ::-1][..., flip]
        return (cells + mirrored)[:, : (g + 1) // 2].reshape(-1)

    def _temporal(
        self, sparse: dict[str, np.ndarray], pairs: int, box: tuple[float, ...]
    ) -> np.ndarray:
        """3 temporal values + 12 rhythm values (see the module docstring)."""
        out = np.zeros(3 + RHYTHM_DIM, np.float64)
        t, w = sparse["t"], sparse["w"]
        if len(t) == 0:
            return out
        y0, y1 = box[:2]
        side = max(y1 - y0, 1e-6)

        def per_pair(values: np.ndarray | None, select: np.ndarray | None = None) -> np.ndarray:
            weights = w if values is None else w * values
            if select is not None:
                return np.bincount(t[select], weights=weights[select], minlength=pairs)
            return np.bincount(t, weights=weights, minlength=pairs)

        tot = per_pair(None)
        active = tot > 0
        safe = np.where(active, tot, 1.0)
        cy, cx = per_pair(sparse["y"]) / safe, per_pair(sparse["x"]) / safe
        vx, vy = per_pair(sparse["vx"]) / safe, per_pair(sparse["vy"]) / safe
        out[0] = cy[active].std() / side
        out[1] = cx[active].std() / side
        out[2] = np.log((np.abs(vy).mean() + 1e-3) / (np.abs(vx).mean() + 1e-3))
        top = sparse["y"] < (y0 + y1) / 2
        rhythm: list[float] = []
        for select in (top, ~top):
            total = per_pair(None, select)
            safe = np.where(total > 0, total, 1.0)
            for signal in (
                per_pair(sparse["vx"], select) / safe,
                per_pair(sparse["vy"], select) / safe,
                total,
            ):
                rhythm += _spectrum_stats(signal)
        out[3:] = rhythm
        return out

    def _mhi_hu(self, votes: np.ndarray, box: tuple[float, ...]) -> np.ndarray:
        pairs, height, width = votes.shape
        if self.hu_moments == 0:
            return np.zeros(0)
        mhi = np.zeros((height, width), np.float32)
        for t in range(pairs):
            mhi[votes[t] > self.mhi_threshold] = (t + 1) / pairs
        y0, y1, x0, x1 = box
        crop = mhi[
            int(max(np.floor(y0), 0)) : int(min(np.ceil(y1), height)),
            int(max(np.floor(x0), 0)) : int(min(np.ceil(x1), width)),
        ]
        if not crop.any():
            return np.zeros(self.hu_moments)
        return log_hu(cv2.HuMoments(cv2.moments(crop)))[: self.hu_moments]

    def encode(self, clip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flow, votes, _ = self.motion_fields(clip)
        pairs, height = votes.shape[:2]
        if pairs == 0:
            return np.zeros((1, self.dim), np.float32), np.zeros(self.clip_dim, np.float32)
        box = self.figure_box(votes)
        side = box[1] - box[0]
        per_pair = votes.sum() / pairs  # mean votes per pair: the clip's motion scale
        scale = per_pair if per_pair > 0 else 1.0
        sparse = self._sparse(flow, votes)
        parts: list[np.ndarray] = []
        frames = None
        for g in self.pyramid:
            hist = self._histograms(sparse, votes.shape, box, g)
            if g == self.grid:
                frames = hist / scale
            mean = hist.mean(axis=0)
            if self.mirror:
                mean = self._mirror_fold(mean, g)
            parts.append(mean / max(mean.sum(), 1e-12))
        if frames is None:
            frames = self._histograms(sparse, votes.shape, box, self.grid) / scale
        moving = per_pair > 0
        parts.append(
            np.array(
                [np.log1p(per_pair / side), np.log(side / height) if moving else 0.0], np.float64
            )
        )
        parts.append(self._temporal(sparse, pairs, box))
        parts.append(self._mhi_hu(votes, box))
        frames = np.concatenate([frames[:1], frames]).astype(np.float32)
        return frames, np.concatenate(parts).astype(np.float32)
