"""The weight-free ``motion`` backend: one foreground mask per frame from what moves differently
from the camera, for a still, shaking, panning or zooming camera (OpenCV + numpy, no kedro).

Per frame, at ``work_size`` pixels (long side), answering ``history`` frames late:

1. **Camera motion** between neighbouring frames: corners spread over a grid (away from the
   last mask) tracked with pyramidal Lucas-Kanade (forward-backward checked), a similarity
   transform (pan, zoom, roll) fitted to them with RANSAC; too few inliers, or a fit that moves
   the frame's corners less than ``still_motion``: the camera counts as still.
2. **Moving differently from the camera**: the frames up to ``history`` back and ahead
   (offsets 1, 2, 4, ...) are warped onto this one with the composed camera motion; a pixel
   votes "moving" against each frame it differs from (threshold above the residual's noise
   level). A moving part differs from most of the window, a place it just left (a ghost) from
   few, so the share of votes (``vote_share``) separates them: temporal accumulation without
   trails. Where the camera is still this is background subtraction against the window.
3. **Shadows**: moving pixels that are a darker, same-colour version of the window's median
   (the background there) are dropped.
4. **Mask**: opening, closing, holes filled, the largest components kept, then GrabCut (colour
   models and edges, in a box around the mask, at most ``refine_size`` px) pulls in the parts
   of the figure that did not move and drops background caught in the motion. When nothing
   moves, the last mask is carried forward (warped with the camera) for up to ``carry_frames``.

Memory: a few work-size frames of state, whatever the video's length.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import cv2
import numpy as np

from actionlab.segmentation.base import ObjectMask, Segmenter

#: Every key of ``segmentation.motion`` with its check: (kind, lower bound, upper bound) where
#: kind is "int", "float" or "bool" and bounds are inclusive (None: unbounded).
_KEYS: dict[str, tuple[str, float | None, float | None]] = {
    "work_size": ("int", 32, None),
    "blur_sigma": ("float", 0.0, 10.0),
    "max_features": ("int", 8, None),
    "feature_grid": ("int", 1, 16),
    "feature_quality": ("float", 1e-6, 1.0),
    "feature_distance": ("float", 1.0, None),
    "ransac_threshold": ("float", 0.05, None),
    "min_inliers": ("int", 3, None),
    "still_motion": ("float", 0.0, None),
    "history": ("int", 1, 64),
    "diff_threshold": ("float", 0.0, 255.0),
    "vote_share": ("float", 0.0, 1.0),
    "noise_factor": ("float", 0.0, None),
    "shadow_low": ("float", 0.0, 1.0),
    "shadow_high": ("float", 0.0, 1.0),
    "shadow_chroma": ("float", 0.0, 255.0),
    "open_size": ("int", 0, 99),
    "close_size": ("int", 0, 99),
    "max_hole": ("float", 0.0, None),
    "keep_components": ("int", 1, None),
    "min_area": ("float", 0.0, 1.0),
    "carry_frames": ("int", 0, None),
    "refine_iterations": ("int", 0, 20),
    "refine_margin": ("float", 0.0, 2.0),
    "refine_size": ("int", 16, None),
    "refine_memory": ("bool", None, None),
}


def check_motion_params(section: Mapping[str, Any]) -> dict[str, Any]:
    """``segmentation.motion`` validated: every key present, of its type and in its range."""
    if not isinstance(section, Mapping):
        raise ValueError(f"segmentation.motion must be a mapping, got {type(section).__name__}")
    unknown = sorted(set(section) - set(_KEYS))
    if unknown:
        raise ValueError(
            f"segmentation.motion.{unknown[0]}: unknown key; expected only {', '.join(_KEYS)}"
        )
    out: dict[str, Any] = {}
    for key, (kind, lo, hi) in _KEYS.items():
        where = f"segmentation.motion.{key}"
        if key not in section:
            raise ValueError(f"{where} is missing: set it in conf/base/parameters_segmentation.yml")
        value = section[key]
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{where}={value!r}: expected true or false")
            out[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}={value!r}: expected a number")
        if kind == "int" and value != int(value):
            raise ValueError(f"{where}={value!r}: expected a whole number")
        value = int(value) if kind == "int" else float(value)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ValueError(f"{where}={value!r}: expected a value in [{lo}, {hi}]")
        out[key] = value
    if out["shadow_low"] > out["shadow_high"]:
        raise ValueError(
            f"segmentation.motion.shadow_low={out['shadow_low']} exceeds "
            f"segmentation.motion.shadow_high={out['shadow_high']}"
        )
    return out


def _odd_kernel(size: int) -> np.ndarray | None:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)) if size > 1 else None


def _fill_holes(mask: np.ndarray, max_share: float) -> np.ndarray:
    """``mask`` (uint8 0/255) with its holes (background regions not touching the border) filled
    when smaller than ``max_share`` of the mask's area (a gap between the legs stays open)."""
    if max_share <= 0:
        return mask
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 255)
    holes = cv2.bitwise_not(flood)[1:-1, 1:-1]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(holes, connectivity=4)
    if n <= 1:
        return mask
    small = stats[:, cv2.CC_STAT_AREA] < max_share * max(cv2.countNonZero(mask), 1)
    small[0] = False
    return cv2.bitwise_or(mask, np.where(small[labels], 255, 0).astype(np.uint8))


class MotionSegmenter(Segmenter):
    """Camera-compensated motion segmentation: one foreground ``ObjectMask`` (object 0, label
    ``"moving"``) per frame, or none when nothing moves and there is no mask to carry."""

    name = "motion"

    def __init__(
        self,
        *,
        work_size: int,
        blur_sigma: float,
        max_features: int,
        feature_grid: int,
        feature_quality: float,
        feature_distance: float,
        ransac_threshold: float,
        min_inliers: int,
        still_motion: float,
        history: int,
        diff_threshold: float,
        vote_share: float,
        noise_factor: float,
        shadow_low: float,
        shadow_high: float,
        shadow_chroma: float,
        open_size: int,
        close_size: int,
        max_hole: float,
        keep_components: int,
        min_area: float,
        carry_frames: int,
        refine_iterations: int,
        refine_margin: float,
        refine_size: int,
        refine_memory: bool,
    ) -> None:
        self.p = check_motion_params(
            {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        )

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> MotionSegmenter:
        """Built from the whole ``segmentation`` parameter dict (its ``motion`` section)."""
        if "motion" not in params:
            raise ValueError(
                "segmentation.motion is missing: see conf/base/parameters_segmentation.yml"
            )
        return cls(**check_motion_params(params["motion"]))

    # ------------------------------------------------------------------------------ stream

    def stream(self, frames: Iterable[np.ndarray]) -> Iterator[list[ObjectMask]]:
        """One list per frame: ``[ObjectMask(0, mask, "moving", score)]`` or ``[]``."""
        state = _State(self.p)
        for index, item in enumerate(frames):
            frame = np.asarray(item)
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise ValueError(
                    f"frame {index}: expected an (H, W, 3) uint8 RGB array, "
                    f"got {frame.dtype} {frame.shape}"
                )
            for mask, score in state.push(frame):
                yield [ObjectMask(0, mask, "moving", score)] if mask is not None else []
        for mask, score in state.flush():
            yield [ObjectMask(0, mask, "moving", score)] if mask is not None else []


def _h(warp: np.ndarray) -> np.ndarray:
    """A 2x3 affine as a 3x3 matrix."""
    return np.vstack([warp, [0.0, 0.0, 1.0]])


class _State:
    """What ``MotionSegmenter.stream`` keeps between frames: a window of ``2 * history + 1``
    work-size frames with the camera motion between neighbours, the last mask and counters."""

    def __init__(self, p: dict[str, Any]) -> None:
        self.p = p
        self.size: tuple[int, int] | None = None  # work (width, height)
        self.in_shape: tuple[int, int] | None = None
        # window entries: (grey, blurred colour, 3x3 camera transform from the previous frame)
        self.window: deque[tuple[np.ndarray, np.ndarray, np.ndarray]] = deque(
            maxlen=2 * p["history"] + 1
        )
        self.count = 0  # frames received
        self.done = 0  # frames answered
        self.last: np.ndarray | None = None  # uint8 0/255 last mask (work size)
        self.carried = 0
        self.score = 0.0
        self.k3 = np.ones((3, 3), np.uint8)
        self.ones: np.ndarray | None = None  # (h, w) uint8 255, warped to find valid pixels
        self.open_k = _odd_kernel(p["open_size"])
        self.close_k = _odd_kernel(p["close_size"])
        self.offsets = sorted(
            {1, *(2**i for i in range(1, 8) if 2**i <= p["history"]), p["history"]}
        )

    # -------------------------------------------------------------------------- helpers

    def _prepare(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = frame.shape[:2]
        if self.in_shape is None:
            self.in_shape = (h, w)
            f = min(1.0, self.p["work_size"] / max(h, w))
            self.size = (max(8, round(w * f)), max(8, round(h * f)))
            self.ones = np.full(self.size[::-1], 255, np.uint8)
        elif (h, w) != self.in_shape:
            raise ValueError(f"frame size changed from {self.in_shape} to {(h, w)} mid-stream")
        small = frame if self.size == (w, h) else cv2.resize(frame, self.size, cv2.INTER_AREA)
        if self.p["blur_sigma"] > 0:
            small = cv2.GaussianBlur(small, (0, 0), self.p["blur_sigma"])
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        return gray, small

    def _camera(self, prev: np.ndarray, gray: np.ndarray) -> np.ndarray:
        """The 3x3 similarity taking ``prev`` to ``gray``; the identity when the camera is still
        (or its motion cannot be measured)."""
        p = self.p
        eye = np.eye(3)
        pts = self._features(prev)
        if pts is None or len(pts) < p["min_inliers"]:
            return eye
        lk = {"winSize": (15, 15), "maxLevel": 3, "minEigThreshold": 1e-6}
        nxt, ok, _ = cv2.calcOpticalFlowPyrLK(prev, gray, pts, None, **lk)
        back, ok2, _ = cv2.calcOpticalFlowPyrLK(gray, prev, nxt, None, **lk)
        fb = np.abs(back - pts).reshape(-1, 2).max(axis=1)
        ok = ok.ravel().astype(bool) & ok2.ravel().astype(bool) & (fb < 0.5)
        if ok.sum() < p["min_inliers"]:
            return eye
        a, b = pts[ok].reshape(-1, 2), nxt[ok].reshape(-1, 2)
        warp = self._dominant(a, b)
        if warp is None:
            return eye
        # how far the frame's corners move under the fit: below still_motion, no camera motion
        w, h = self.size
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64)
        moved = np.abs(corners @ warp.T - corners[:, :2]).max()
        return eye if moved < p["still_motion"] else _h(warp)

    def _dominant(self, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
        """The camera's similarity from point pairs ``a -> b``: of the two largest RANSAC
        consensus sets, the one spread over more of the frame (the background spans the frame; a
        large or richly textured figure only a part of it); None when neither is supported."""
        p = self.p
        n = p["feature_grid"]
        w, h = self.size
        best, best_cells = None, -1
        for _ in range(2):
            if len(a) < p["min_inliers"]:
                break
            warp, inl = cv2.estimateAffinePartial2D(
                a, b, method=cv2.RANSAC, ransacReprojThreshold=p["ransac_threshold"]
            )
            if warp is None or inl is None or int(inl.sum()) < p["min_inliers"]:
                break
            inl = inl.ravel().astype(bool)
            cells = len({(int(x * n / w), int(y * n / h)) for x, y in a[inl]})
            if cells > best_cells:
                best, best_cells = warp, cells
            a, b = a[~inl], b[~inl]
        return best

    def _features(self, gray: np.ndarray) -> np.ndarray | None:
        """Corners spread over a ``feature_grid`` x ``feature_grid`` grid (each cell's best, so a
        plain background still gets corners next to a busy foreground), away from the last mask."""
        p = self.p
        n = p["feature_grid"]
        w, h = self.size
        avoid = None
        if self.last is not None and self.last.any():
            grow = max(3, int(0.03 * max(w, h))) * 2 + 1
            avoid = cv2.bitwise_not(cv2.dilate(self.last, np.ones((grow, grow), np.uint8)))
        per_cell = max(1, p["max_features"] // (n * n))
        found = []
        for i in range(n):
            for j in range(n):
                y0, y1 = h * i // n, h * (i + 1) // n
                x0, x1 = w * j // n, w * (j + 1) // n
                cell = cv2.goodFeaturesToTrack(
                    gray[y0:y1, x0:x1],
                    per_cell,
                    p["feature_quality"],
                    p["feature_distance"],
                    mask=None if avoid is None else avoid[y0:y1, x0:x1],
                )
                if cell is not None:
                    found.append(cell + np.array([x0, y0], np.float32))
        return np.concatenate(found).astype(np.float32) if found else None

    def _to(self, src: int, dst: int) -> np.ndarray:
        """3x3 transform from window frame ``src`` to window frame ``dst``."""
        m = np.eye(3)
        if src < dst:
            for i in range(src + 1, dst + 1):
                m = self.window[i][2] @ m
        else:
            for i in range(dst + 1, src + 1):
                m = self.window[i][2] @ m
            m = np.linalg.inv(m)
        return m

    # -------------------------------------------------------------------------- stream

    def push(self, frame: np.ndarray) -> Iterator[tuple[np.ndarray | None, float]]:
        """Take one frame; yield the answers that became ready (``history`` frames late)."""
        gray, colour = self._prepare(frame)
        warp = self._camera(self.window[-1][0], gray) if self.window else np.eye(3)
        self.window.append((gray, colour, warp))
        self.count += 1
        while self.count - self.done > self.p["history"]:
            yield self._answer(self.done)

    def flush(self) -> Iterator[tuple[np.ndarray | None, float]]:
        """The answers of the last ``history`` frames."""
        while self.done < self.count:
            yield self._answer(self.done)

    def _answer(self, index: int) -> tuple[np.ndarray | None, float]:
        """The mask of frame ``index`` (which is in the window)."""
        first = self.count - len(self.window)
        t = index - first
        self.done += 1
        p = self.p
        gray, colour, cam = self.window[t]
        w, h = self.size
        if self.last is not None and not np.allclose(cam, np.eye(3)):
            self.last = cv2.warpAffine(self.last, cam[:2], self.size, flags=cv2.INTER_NEAREST)

        refs: list[tuple[np.ndarray, np.ndarray | None]] = []  # (warped colour, valid)
        for sign in (-1, 1):
            for k in self.offsets:
                r = t + sign * k
                if not 0 <= r < len(self.window):
                    continue
                m = self._to(r, t)
                if np.allclose(m, np.eye(3), atol=1e-6):
                    refs.append((self.window[r][1], None))
                    continue
                warped = cv2.warpAffine(
                    self.window[r][1], m[:2], self.size, flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE,
                )  # fmt: skip
                inside = cv2.warpAffine(self.ones, m[:2], self.size, flags=cv2.INTER_NEAREST)
                refs.append((warped, cv2.erode(inside, self.k3) > 0))
        if not refs:  # a one-frame stream: nothing to compare with
            return self._finish(np.zeros((h, w), np.uint8), 0.0)
        diffs = []
        for ref, valid in refs:
            d = cv2.absdiff(colour, ref)
            d = cv2.max(cv2.max(d[..., 0], d[..., 1]), d[..., 2])
            if valid is not None:
                d[~valid] = 0
            diffs.append(d)
        noise = float(np.median(diffs[len(diffs) // 2]))  # the nearest frame ahead or back
        thr = max(p["diff_threshold"], p["noise_factor"] * noise)
        votes = np.zeros((h, w), np.float32)
        count = np.zeros((h, w), np.float32)
        for d, (_, valid) in zip(diffs, refs, strict=True):
            votes += d > thr
            count += 1.0 if valid is None else valid
        share = votes / np.maximum(count, 1.0)
        moving = share >= p["vote_share"]
        if p["shadow_high"] > 0 and moving.any():
            moving &= ~self._shadow(colour, refs, moving)
        fg = self._clean(moving.astype(np.uint8) * 255)
        score = float(share[fg > 0].mean()) if fg.any() else 0.0
        if p["refine_iterations"] > 0 and fg.any():
            prior = None
            if p["refine_memory"] and self.last is not None and t > 0:
                # the last mask where this frame did not change since (diffs[0]: frame t - 1)
                prior = np.where(diffs[0] <= thr, self.last, 0).astype(np.uint8)
            fg = self._clean(self._refine(colour, fg, prior))
        return self._finish(fg, score)

    def _shadow(
        self,
        colour: np.ndarray,
        refs: list[tuple[np.ndarray, np.ndarray | None]],
        moving: np.ndarray,
    ) -> np.ndarray:
        """Which ``moving`` pixels are a darker version (brightness ratio in [shadow_low,
        shadow_high]) of the window's median with nearly the same chromaticity: shadows cast on
        the background. Computed on the moving pixels only."""
        p = self.p
        where = np.nonzero(moving)
        stack = np.stack([ref[where] for ref, _ in refs] + [colour[where]])  # (n, m, 3)
        bg = np.median(stack, axis=0).astype(np.float32)
        cur = colour[where].astype(np.float32)
        cur_sum, bg_sum = cur.sum(axis=1) + 1.0, bg.sum(axis=1) + 1.0
        ratio = cur_sum / bg_sum
        chroma = np.abs(cur / cur_sum[:, None] - bg / bg_sum[:, None]).max(axis=1) * 255
        hit = (ratio >= p["shadow_low"]) & (ratio <= p["shadow_high"])
        hit &= chroma < p["shadow_chroma"]
        out = np.zeros_like(moving)
        out[where[0][hit], where[1][hit]] = True
        return out

    def _finish(self, fg: np.ndarray, score: float) -> tuple[np.ndarray | None, float]:
        p = self.p
        h, w = fg.shape
        if not fg.any() and self.last is not None and self.last.any():
            if self.carried < p["carry_frames"]:  # a pause: keep the figure where it was
                self.carried += 1
                fg, score = self.last, self.score
        else:
            self.carried = 0
        self.last, self.score = fg, score
        if not fg.any():
            return None, 0.0
        out = fg
        if self.in_shape != (h, w):
            out = cv2.resize(fg, self.in_shape[::-1], interpolation=cv2.INTER_LINEAR)
        return out > 127, score

    def _refine(self, colour: np.ndarray, fg: np.ndarray, prior: np.ndarray | None) -> np.ndarray:
        """GrabCut (colour models + edges) in a box around the motion mask: drops background
        caught in the motion mask and adds still parts of the figure that look like it. The
        ``prior`` (the last mask, warped here) joins the motion as probable foreground."""
        p = self.p
        h, w = fg.shape
        core = fg
        if prior is not None:
            fg = cv2.bitwise_or(fg, prior)
        x, y, bw, bh = cv2.boundingRect(fg)
        m = int(p["refine_margin"] * max(bw, bh)) + 2
        x0, y0, x1, y1 = max(x - m, 0), max(y - m, 0), min(x + bw + m, w), min(y + bh + m, h)
        roi, sure = fg[y0:y1, x0:x1], core[y0:y1, x0:x1]
        img = colour[y0:y1, x0:x1]
        f = min(1.0, p["refine_size"] / max(roi.shape))
        if f < 1.0:
            small = (max(4, round(roi.shape[1] * f)), max(4, round(roi.shape[0] * f)))
            roi = cv2.resize(roi, small, interpolation=cv2.INTER_AREA)
            sure = cv2.resize(sure, small, interpolation=cv2.INTER_AREA)
            img = cv2.resize(img, small, interpolation=cv2.INTER_AREA)
        gc = np.full(roi.shape, cv2.GC_PR_BGD, np.uint8)
        gc[roi > 127] = cv2.GC_PR_FGD
        gc[cv2.erode(sure, np.ones((5, 5), np.uint8)) > 127] = cv2.GC_FGD
        gc[0, :] = gc[-1, :] = gc[:, 0] = gc[:, -1] = cv2.GC_BGD
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)  # GrabCut seeds its colour models from OpenCV's global generator
        try:
            cv2.grabCut(
                np.ascontiguousarray(img), gc, None, bgd, fgd, p["refine_iterations"],
                cv2.GC_INIT_WITH_MASK,
            )  # fmt: skip
        except cv2.error:  # a degenerate box (too few colours): keep the motion mask
            return fg
        got = np.where((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
        if f < 1.0:
            got = cv2.resize(got, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
            got = np.where(got > 127, 255, 0).astype(np.uint8)
        out = np.zeros_like(fg)
        out[y0:y1, x0:x1] = got
        return out

    def _clean(self, fg: np.ndarray) -> np.ndarray:
        p = self.p
        if self.open_k is not None:
            fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self.open_k)
        if self.close_k is not None:
            fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self.close_k)
        fg = _fill_holes(fg, p["max_hole"])
        n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        if n <= 1:
            return fg
        areas = stats[1:, cv2.CC_STAT_AREA]
        min_px = p["min_area"] * fg.size
        order = [i for i in np.argsort(-areas) if areas[i] >= min_px][: p["keep_components"]]
        keep = np.zeros(n, np.uint8)
        keep[np.array(order, int) + 1] = 255
        return keep[labels]
