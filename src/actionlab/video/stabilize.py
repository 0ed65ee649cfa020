"""Camera-shake cancelling and the moving-figure box (OpenCV + numpy, no torch, no kedro).

* ``global_shift`` / ``shift_image``: the integer camera translation between two grey frames,
  found on the frame's border ring, and the shift that undoes it.
* ``motion_fields``: camera-compensated Farneback flow and the pixels that vote for motion.
* ``square_box``: the square box around a motion-energy map (weighted quantiles + margin).
* ``motion_crop``: a clip aligned to its first frame and cropped to the square box around what
  moves in it (the votes of ``motion_fields``), resized to ``size``. The box is
  fixed for the whole clip, so movement of the figure inside the clip (a jump, a step) is kept;
  the figure's place and size in the frame are not.

Used by the ``motion`` encoder (``actionlab.encoders.motion``) and by the self-supervised frame
encoder's ``roi: motion`` input (``actionlab.models.frame_encoder``).
"""

from __future__ import annotations

import cv2
import numpy as np

#: Camera-shift search (``global_shift``): grey-level change (blurred frames) counted as a
#: mismatch; share of the frame (each side) that forms the compared border ring; least share of
#: a ring side's pixels changed without the shift, and least share of those changes the shift
#: must remove, for that side to support the shift; sides (of 4) that must support it.
ALIGN_THRESHOLD = 3
ALIGN_RING = 0.25
ALIGN_MIN_CHANGE = 0.02
ALIGN_MIN_GAIN = 0.2
ALIGN_MIN_SIDES = 1


def _ring(shape: tuple[int, int], margin: int) -> int:
    """Width of the centre-excluding border ring inside the ``margin``-trimmed frame (0 = none)."""
    height, width = shape
    ring = int(round(ALIGN_RING * min(height, width))) - margin
    inner_h, inner_w = height - 2 * margin, width - 2 * margin
    return ring if ring > 0 and inner_h > 2 * ring and inner_w > 2 * ring else 0


def _changed(
    prev: np.ndarray, nxt: np.ndarray, shift: tuple[int, int], margin: int, threshold: float
) -> np.ndarray:
    """Bool mask over the ``margin``-trimmed frame: ``prev`` differs from ``nxt`` shifted by
    ``shift`` by more than ``threshold`` grey levels."""
    height, width = prev.shape
    dx, dy = shift
    inner = prev[margin : height - margin, margin : width - margin]
    window = nxt[margin + dy : height - margin + dy, margin + dx : width - margin + dx]
    return cv2.absdiff(window, inner) > threshold


def _mismatches(
    prev: np.ndarray, nxt: np.ndarray, shift: tuple[int, int], margin: int, threshold: float
) -> int:
    """Changed pixels (``_changed``) in the border ring (outer ``ALIGN_RING`` of the frame on
    every side; the whole trimmed frame when too small for a ring)."""
    changed = _changed(prev, nxt, shift, margin, threshold)
    count = int(np.count_nonzero(changed))
    ring = _ring(prev.shape, margin)
    if ring:
        h, w = changed.shape
        count -= int(np.count_nonzero(changed[ring : h - ring, ring : w - ring]))
    return count


def _sides(changed: np.ndarray, ring: int) -> tuple[np.ndarray, np.ndarray]:
    """Changed-pixel counts and areas of the ring's 4 sides (top and bottom strips hold the
    corners)."""
    h, w = changed.shape
    parts = (
        changed[:ring],
        changed[h - ring :],
        changed[ring : h - ring, :ring],
        changed[ring : h - ring, w - ring :],
    )
    return np.array([np.count_nonzero(p) for p in parts]), np.array([p.size for p in parts])


def _best_shift(
    prev: np.ndarray,
    nxt: np.ndarray,
    candidates: list[tuple[int, int]],
    margin: int,
    threshold: float,
) -> tuple[tuple[int, int], int]:
    """The candidate (|dx|, |dy| <= margin) with the fewest ring mismatches and that count; ties
    go to the candidate listed first."""
    best, best_count = candidates[0], -1
    for shift in candidates:
        count = _mismatches(prev, nxt, shift, margin, threshold)
        if best_count < 0 or count < best_count:
            best, best_count = shift, count
    return best, best_count


def _by_size(candidates: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return sorted(candidates, key=lambda s: (abs(s[0]) + abs(s[1]), abs(s[0]), abs(s[1]), s))


def global_shift(
    prev: np.ndarray, nxt: np.ndarray, radius: int, threshold: float = ALIGN_THRESHOLD
) -> tuple[int, int]:
    """Integer camera translation ``(dx, dy)`` (``|dx|, |dy| <= radius``) of the content from
    ``prev`` to ``nxt`` (uint8 grey images): ``nxt[y + dy, x + dx] ~ prev[y, x]``.

    Only the border ring (the outer ``ALIGN_RING`` of the frame; the centre, where the actor
    usually is, is left out) is compared: the shift with the fewest pixels differing by more than
    ``threshold`` wins (ties go to the smaller shift). Radius >= 2 searches coarse-to-fine (half
    resolution, then +-1 px around the doubled coarse shift). A non-zero shift is kept only when
    it explains the changes on at least ``ALIGN_MIN_SIDES`` of the ring's 4 sides (top, bottom,
    left, right strips): a side counts when at least ``ALIGN_MIN_CHANGE`` of its pixels changed
    without the shift and the shift removes at least ``ALIGN_MIN_GAIN`` of those changes.
    Otherwise ``(0, 0)``: a static camera (small changes the shift does not explain) keeps
    ``(0, 0)``. Limitation: the ring needs some static texture - an object moving over a
    perfectly flat background near the frame border can pass for camera motion (use
    ``align_radius: 0`` for a fixed camera there).
    """
    radius = int(radius)
    height, width = prev.shape
    if radius <= 0 or min(height, width) <= 4 * radius + 2:
        return 0, 0
    span = range(-radius, radius + 1)
    if radius >= 2 and min(height, width) >= 32:
        half = (radius + 1) // 2
        coarse = _by_size(
            [(dx, dy) for dy in range(-half, half + 1) for dx in range(-half, half + 1)]
        )
        (cdx, cdy), _ = _best_shift(cv2.pyrDown(prev), cv2.pyrDown(nxt), coarse, half, threshold)
        around = [(2 * cdx + i, 2 * cdy + j) for j in (-1, 0, 1) for i in (-1, 0, 1)]
        candidates = _by_size([(dx, dy) for dx, dy in around if dx in span and dy in span])
    else:
        candidates = _by_size([(dx, dy) for dy in span for dx in span])
    best, _ = _best_shift(prev, nxt, candidates, radius, threshold)
    if best == (0, 0):
        return best
    ring = _ring(prev.shape, radius)
    if not ring:
        return best
    still, area = _sides(_changed(prev, nxt, (0, 0), radius, threshold), ring)
    moved, _ = _sides(_changed(prev, nxt, best, radius, threshold), ring)
    explained = (still >= ALIGN_MIN_CHANGE * area) & (moved <= (1 - ALIGN_MIN_GAIN) * still)
    return best if np.count_nonzero(explained) >= ALIGN_MIN_SIDES else (0, 0)


def shift_image(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``out[y, x] = image[y + dy, x + dx]`` (edge pixels replicated)."""
    if dx == 0 and dy == 0:
        return image
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(
        image,
        matrix,
        (image.shape[1], image.shape[0]),
        flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    pos = int(np.searchsorted(cum, q * cum[-1]))
    return float(values[order][min(pos, len(values) - 1)])


#: ``cv2.calcOpticalFlowFarneback`` arguments (pyr_scale, levels, winsize, iterations, poly_n,
#: poly_sigma, flags).
FARNEBACK = (0.5, 3, 15, 3, 5, 1.2, 0)


def motion_fields(
    clip: np.ndarray,
    *,
    align_radius: int = 3,
    flow_threshold: float = 0.3,
    diff_threshold: float = 6.0,
    diff_dilate: int = 2,
    farneback: tuple = FARNEBACK,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Camera-compensated flow, votes and camera shifts of the P = T-1 frame pairs of a uint8
    clip (T, H, W, 3).

    Per pair: the camera shift (``global_shift`` on 5x5-blurred grey frames, at most
    ``align_radius`` px; 0: fixed camera) is undone on the second frame, then the Farneback flow
    is computed. A pixel *votes* with its flow magnitude when that exceeds ``flow_threshold``
    (px/frame) and the aligned blurred frames differ there by more than ``diff_threshold`` grey
    levels (mask dilated by ``diff_dilate`` px); rows/columns the shift filled from outside the
    frame never vote.

    Returns ``flow`` float32 (P, H, W, 2), ``votes`` float32 (P, H, W) and ``shifts`` int (P, 2)
    (the ``(dx, dy)`` of each pair, as ``global_shift`` gives it).
    """
    gray = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in clip]
    blur = [cv2.GaussianBlur(g, (5, 5), 0) for g in gray]
    pairs, (height, width) = len(gray) - 1, gray[0].shape
    flow = np.zeros((pairs, height, width, 2), np.float32)
    votes = np.zeros((pairs, height, width), np.float32)
    shifts = np.zeros((pairs, 2), np.int64)
    kernel = np.ones((2 * diff_dilate + 1,) * 2, np.uint8) if diff_dilate > 0 else None
    for t in range(pairs):
        dx, dy = global_shift(blur[t], blur[t + 1], align_radius)
        shifts[t] = dx, dy
        nxt = shift_image(gray[t + 1], dx, dy)
        flow[t] = cv2.calcOpticalFlowFarneback(gray[t], nxt, None, *farneback)
        diff = cv2.absdiff(shift_image(blur[t + 1], dx, dy), blur[t])
        changed = cv2.threshold(diff, diff_threshold, 1, cv2.THRESH_BINARY)[1]
        if kernel is not None:
            changed = cv2.dilate(changed, kernel)
        vote = votes[t]
        cv2.magnitude(flow[t, ..., 0], flow[t, ..., 1], vote)
        vote[vote <= flow_threshold] = 0.0
        vote *= changed
        if dy > 0:
            vote[height - dy :] = 0.0
        elif dy < 0:
            vote[:-dy] = 0.0
        if dx > 0:
            vote[:, width - dx :] = 0.0
        elif dx < 0:
            vote[:, :-dx] = 0.0
    return flow, votes, shifts


def square_box(
    energy: np.ndarray, quantile: float = 0.02, margin: float = 0.1
) -> tuple[float, float, float, float]:
    """Square ``(y0, y1, x0, x1)`` around the (H, W) non-negative ``energy`` map.

    The ``quantile`` .. ``1 - quantile`` weighted quantiles along y and x bound the region; it is
    made square (side = the longer extent) and widened by ``margin`` of its side on every side.
    The whole frame when ``energy`` is all zero. The box may reach outside the frame.
    """
    if not 0.0 <= quantile < 0.5:
        raise ValueError(f"box quantile={quantile}; expected 0 <= quantile < 0.5.")
    height, width = energy.shape
    ys, xs = np.nonzero(energy)
    if len(ys) == 0:
        return 0.0, float(height), 0.0, float(width)
    e = energy[ys, xs]
    y0, y1 = _weighted_quantile(ys, e, quantile), _weighted_quantile(ys, e, 1 - quantile) + 1
    x0, x1 = _weighted_quantile(xs, e, quantile), _weighted_quantile(xs, e, 1 - quantile) + 1
    cy, cx, side = (y0 + y1) / 2, (x0 + x1) / 2, max(y1 - y0, x1 - x0)
    side *= 1 + 2 * margin
    return cy - side / 2, cy + side / 2, cx - side / 2, cx + side / 2


def motion_crop(
    clip: np.ndarray,
    size: int,
    *,
    quantile: float = 0.02,
    margin: float = 0.1,
    **fields: float,
) -> np.ndarray:
    """uint8 (T, H, W, 3) -> uint8 (T, size, size, 3): aligned and cropped to the moving figure.

    ``motion_fields(clip, **fields)`` gives the camera shifts and the motion votes; every frame
    is shifted onto frame 0 (cumulative shifts) and cut to the ``square_box`` of the votes summed
    over the clip (``quantile``, ``margin``), with edge pixels replicated where the box leaves
    the frame. A clip where nothing moves keeps the whole frame.
    """
    clip = np.asarray(clip)
    if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8 or len(clip) == 0:
        raise ValueError(f"Expected a uint8 clip (T, H, W, 3); got {clip.dtype} {clip.shape}.")
    _, votes, shifts = motion_fields(clip, **fields)
    height, width = clip.shape[1:3]
    energy = votes.sum(axis=0) if len(votes) else np.zeros((height, width), np.float32)
    y0, y1, x0, x1 = square_box(energy, quantile, margin)
    side = max(int(round(y1 - y0)), 1)
    path = np.vstack([np.zeros((1, 2), np.int64), np.cumsum(shifts, axis=0)])
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    out = np.empty((len(clip), size, size, 3), np.uint8)
    for t, (frame, (dx, dy)) in enumerate(zip(clip, path, strict=True)):
        # box[v, u] = frame[y0 + dy + v, x0 + dx + u], then resized to size x size
        matrix = np.float32([[1, 0, x0 + dx], [0, 1, y0 + dy]])
        box = cv2.warpAffine(
            np.ascontiguousarray(frame),
            matrix,
            (side, side),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        out[t] = cv2.resize(box, (size, size), interpolation=interp)
    return out
