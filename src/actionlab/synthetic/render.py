"""Render seeded clips of the articulated figure over a cluttered, static background plate."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import cv2
import numpy as np

from actionlab.synthetic.figure import (
    ACTIONS,
    INCORRECT_MODES,
    TEMPO,
    Actor,
    check_action,
    forward_kinematics,
    make_actor,
    pose_at,
    rot_y,
    stable_hash,
)

#: Supersampling factor of the figure layer (coverage is measured on an SS x SS sub-pixel grid).
SS = 4
#: 8-bit coverage from which a pixel counts as the figure's: at least half of its sub-pixels
#: (8/16 -> 127.5, 7/16 -> 111.6; the box filter rounds, so the cut sits between them).
MASK_LEVEL = 120
#: Extra plate border (pixels) each side, so camera jitter never reveals the plate's edge.
MARGIN = 4
#: Actors ``render_clip`` picks from when ``actor`` is None.
DEFAULT_ACTOR_POOL = 8
#: Camera options of ``render_clip``: ``shake`` (the default: smooth jitter of a few pixels),
#: ``still`` (no camera motion) and ``pan_zoom`` (a smooth pan over a larger plate and a zoom in
#: or out, the camera following the figure, as a handheld or broadcast camera does).
CAMERAS: tuple[str, ...] = ("shake", "still", "pan_zoom")
#: ``pan_zoom``: pan speed range (pixels per frame at 128 px, scaled with ``size``) and final
#: zoom range (the zoom runs from 1 to it, or from it back to 1 for a zoom-out).
PAN_SPEED = (1.5, 3.0)
ZOOM_END = (1.12, 1.25)

Colour = tuple[int, int, int]


@dataclass
class SyntheticClip:
    """One rendered clip: RGB frames, the figure's per-frame mask, its labels and nuisance draws."""

    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    masks: np.ndarray  # (T, H, W) bool, the figure's pixels
    label: str  # action name
    variant: str  # "correct" | "incorrect"
    actor: str  # e.g. "actor03"
    meta: dict  # the drawn nuisance parameters (json-serialisable)


@dataclass
class ClipLayers:
    """What a clip was composited from (for tests and debugging)."""

    backgrounds: np.ndarray  # (T, H, W, 3) uint8: the plate seen through each frame's camera
    coverage: np.ndarray  # (T, H, W) float32 in [0, 1]: sub-pixel coverage of the figure
    joints: np.ndarray  # (T, J, 2) float: joint (and drawing point) pixel positions (x, y)
    joint_names: tuple[str, ...]


# ---------------------------------------------------------------------------------------- background


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, size=3)


def make_background(rng: np.random.Generator, size: int) -> tuple[np.ndarray, dict]:
    """A static ``(size, size, 3)`` uint8 plate: gradient, blobs, floor, clutter shapes, texture."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    angle = rng.uniform(0, 2 * np.pi)
    t = np.cos(angle) * xx + np.sin(angle) * yy
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    c1, c2 = _random_colour(rng), _random_colour(rng)
    plate = c1 * (1 - t[..., None]) + c2 * t[..., None]

    k = int(rng.integers(2, 7))
    blobs = cv2.resize(
        rng.uniform(-1, 1, size=(k, k, 3)).astype(np.float32),
        (size, size),
        interpolation=cv2.INTER_CUBIC,
    )
    blob_amp = rng.uniform(10, 60)
    plate = plate + blob_amp * blobs

    info: dict = {
        "gradient": [c1.round().tolist(), c2.round().tolist()],
        "blob_cells": k,
        "blob_amp": round(float(blob_amp), 2),
    }
    if rng.uniform() < 0.6:
        horizon = int(rng.uniform(0.45, 0.8) * size)
        floor = _random_colour(rng)
        shade = np.linspace(0.8, 1.15, size - horizon, dtype=np.float32)[:, None, None]
        plate[horizon:] = 0.3 * plate[horizon:] + 0.7 * floor * shade
        if rng.uniform() < 0.5:  # floor boards / tiles
            step = int(rng.integers(6, 16))
            for x in range(int(rng.integers(0, step)), size, step):
                plate[horizon:, x] *= 0.85
        info["floor"] = {"horizon": horizon, "colour": floor.round().tolist()}

    plate = np.clip(plate, 0, 255).astype(np.uint8)
    n_shapes = int(rng.integers(2, 11))
    for _ in range(n_shapes):
        overlay = plate.copy()
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        kind = int(rng.integers(5))
        filled = rng.uniform() < 0.6
        thick = -1 if filled else int(rng.integers(1, 4))
        cx, cy = (int(v) for v in rng.integers(0, size, size=2))
        r = int(rng.integers(3, max(size // 4, 4)))
        if kind == 0:
            cv2.rectangle(
                overlay, (cx - r, cy - r // 2), (cx + r, cy + r), colour, thick, cv2.LINE_AA
            )
        elif kind == 1:
            cv2.circle(overlay, (cx, cy), r, colour, thick, cv2.LINE_AA)
        elif kind == 2:
            axes = (r, int(rng.integers(2, r + 2)))
            cv2.ellipse(
                overlay,
                (cx, cy),
                axes,
                float(rng.uniform(0, 180)),
                0,
                360,
                colour,
                thick,
                cv2.LINE_AA,
            )
        elif kind == 3:
            x2, y2 = (int(v) for v in rng.integers(0, size, size=2))
            cv2.line(overlay, (cx, cy), (x2, y2), colour, int(rng.integers(1, 4)), cv2.LINE_AA)
        else:
            pts = rng.integers(-r, r + 1, size=(3, 2)) + np.array([cx, cy])
            if filled:
                cv2.fillPoly(overlay, [pts.astype(np.int32)], colour, cv2.LINE_AA)
            else:
                cv2.polylines(overlay, [pts.astype(np.int32)], True, colour, thick, cv2.LINE_AA)
        alpha = rng.uniform(0.4, 1.0)
        plate = cv2.addWeighted(overlay, alpha, plate, 1 - alpha, 0)

    texture = rng.uniform(0, 10)
    grain = rng.standard_normal((size, size, 1), dtype=np.float32) * texture
    if rng.uniform() < 0.5:
        grain = cv2.GaussianBlur(grain, (0, 0), 0.8)[..., None]
    plate = np.clip(plate.astype(np.float32) + grain, 0, 255)
    blur = rng.uniform(0, 1.0)
    if blur > 0.3:
        plate = cv2.GaussianBlur(plate, (0, 0), blur)
    info.update(shapes=n_shapes, texture=round(float(texture), 2), blur=round(float(blur), 2))
    return np.clip(plate, 0, 255).round().astype(np.uint8), info


# ---------------------------------------------------------------------------------------- figure


_JOINTS: tuple[str, ...] = (
    "pelvis",
    "neck",
    "head",
    "shoulder_r",
    "elbow_r",
    "wrist_r",
    "shoulder_l",
    "elbow_l",
    "wrist_l",
    "hip_r",
    "knee_r",
    "ankle_r",
    "toe_r",
    "hip_l",
    "knee_l",
    "ankle_l",
    "toe_l",
)
#: Derived drawing points: name -> (joint a, joint b, t), the point a + t * (b - a).
_VIRTUAL: dict[str, tuple[str, str, float]] = {
    "hand_r": ("wrist_r", "elbow_r", -0.25),
    "hand_l": ("wrist_l", "elbow_l", -0.25),
    "trunk_lo": ("pelvis", "neck", 0.12),
    "trunk_hi": ("pelvis", "neck", 0.92),
}
_POINTS: tuple[str, ...] = _JOINTS + tuple(_VIRTUAL)
_IDX = {name: i for i, name in enumerate(_POINTS)}


@dataclass(frozen=True)
class _Prims:
    """The figure's drawing list for one actor, as arrays (one row per primitive)."""

    kinds: tuple[str, ...]  # "seg" | "torso" | "head"
    points: tuple[tuple[int, ...], ...]  # indices into _POINTS; depth from the first two
    colour: np.ndarray  # (P, 3) float base colour
    width: np.ndarray  # (P,) thickness (segments, torso) or radius (head), body units
    bias: np.ndarray  # (P,) depth-sort bias
    shaded: np.ndarray  # (P,) bool: darkened with depth


def _actor_prims(actor: Actor) -> _Prims:
    rows: list[tuple[str, tuple[str, ...], tuple[int, int, int], float, float, bool]] = []
    sleeve = actor.shirt if actor.long_sleeves else actor.skin
    for t in ("_r", "_l"):
        rows += [
            ("seg", ("hip" + t, "knee" + t), actor.pants, actor.leg_th * 1.1, -0.03, True),
            ("seg", ("knee" + t, "ankle" + t), actor.pants, actor.leg_th, -0.031, True),
            ("seg", ("ankle" + t, "toe" + t), actor.shoes, actor.leg_th * 0.8, -0.032, True),
            ("seg", ("shoulder" + t, "elbow" + t), actor.shirt, actor.arm_th * 1.1, 0.01, True),
            ("seg", ("elbow" + t, "wrist" + t), sleeve, actor.arm_th, 0.011, True),
            ("seg", ("wrist" + t, "hand" + t), actor.skin, actor.arm_th * 1.25, 0.012, True),
        ]
    rows += [
        (
            "torso",
            ("trunk_lo", "trunk_hi", "shoulder_r", "shoulder_l", "hip_l", "hip_r"),
            actor.shirt,
            actor.torso_th,
            0.0,
            False,
        ),
        ("seg", ("neck", "head"), actor.skin, actor.arm_th, 0.02, False),
        ("head", ("head", "neck"), actor.skin, actor.head_r, 0.03, False),
    ]
    return _Prims(
        kinds=tuple(r[0] for r in rows),
        points=tuple(tuple(_IDX[n] for n in r[1]) for r in rows),
        colour=np.array([r[2] for r in rows], np.float64),
        width=np.array([r[3] for r in rows]),
        bias=np.array([r[4] for r in rows]),
        shaded=np.array([r[5] for r in rows]),
    )


def _draw_figure(
    prims: _Prims,
    actor: Actor,
    xy: np.ndarray,
    z: np.ndarray,
    *,
    scale: float,
    box: tuple[int, int, int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise the figure (points ``xy`` (N, 2) in frame pixels, depths ``z`` (N,)) at ``SS``x
    inside ``box`` = (x0, y0, x1, y1), painter's order far to near, each part with a dark outline.

    Returns the box's premultiplied colour (h, w, 3) float32 and 8-bit coverage (h, w) uint8.
    """
    x0, y0, x1, y1 = box
    h, w = y1 - y0, x1 - x0
    canvas = np.zeros((h * SS, w * SS, 4), np.uint8)  # RGB + coverage (255 where drawn)
    # pixel centre k maps to SS*k + (SS-1)/2 on the supersampled grid
    grid = np.rint((xy - np.array([x0, y0])) * SS + (SS - 1) / 2).astype(np.int32).tolist()
    first = np.array([p[0] for p in prims.points])
    second = np.array([p[1] for p in prims.points])
    depth = (z[first] + z[second]) / 2
    shade = np.where(prims.shaded, np.clip(1.0 + 1.2 * depth, 0.78, 1.08), 1.0)
    fill = np.clip(prims.colour * shade[:, None], 0, 255).astype(int)
    edge = (fill * 0.45).astype(int)
    thick = np.maximum(1, np.rint(prims.width * scale * SS)).astype(int).tolist()
    outline = max(1, SS // 2)
    arm = max(1, int(round(actor.arm_th * scale * SS)))
    hair = (*actor.hair, 255)
    for i in np.argsort(depth + prims.bias, kind="stable").tolist():
        kind, idx, t = prims.kinds[i], prims.points[i], thick[i]
        col, dark = (*fill[i].tolist(), 255), (*edge[i].tolist(), 255)
        q = [tuple(grid[j]) for j in idx]
        if kind == "seg":
            cv2.line(canvas, q[0], q[1], dark, t + 2 * outline, cv2.LINE_8)
            cv2.line(canvas, q[0], q[1], col, t, cv2.LINE_8)
        elif kind == "torso":
            poly = [np.array(q[2:], np.int32)]
            for c, extra in ((dark, 2 * outline), (col, 0)):
                cv2.line(canvas, q[0], q[1], c, t + extra, cv2.LINE_8)
                cv2.fillPoly(canvas, poly, c, cv2.LINE_8)
                cv2.polylines(canvas, poly, True, c, arm + extra, cv2.LINE_8)
        else:  # head, with a hair cap on the side away from the neck
            cv2.circle(canvas, q[0], t + outline, dark, -1, cv2.LINE_8)
            cv2.circle(canvas, q[0], t, col, -1, cv2.LINE_8)
            d = xy[idx[0]] - xy[idx[1]]
            ang = float(np.degrees(np.arctan2(d[1], d[0])))
            cv2.ellipse(canvas, q[0], (t, t), ang, -75, 75, hair, -1, cv2.LINE_8)
    # box-filter down to frame pixels (INTER_AREA with an integer factor is a block mean)
    small = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)
    return small[..., :3].astype(np.float32), small[..., 3]


# ---------------------------------------------------------------------------------------- clip


def _smooth_jitter(rng: np.random.Generator, n: int, amp: float) -> np.ndarray:
    raw = rng.standard_normal((n + 4, 2))
    if n < 3:  # too short to smooth: keep the camera still
        return np.zeros((n, 2), int)
    kernel = np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0
    sm = np.stack([np.convolve(raw[:, i], kernel, mode="valid") for i in range(2)], axis=1)
    sm /= max(float(sm.std()), 1e-6)
    return np.clip(np.round(amp * sm), -(MARGIN - 1), MARGIN - 1).astype(int)


def _pan_zoom_path(
    rng: np.random.Generator, n: int, size: int
) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """A smooth camera path for ``n`` frames: per-frame pan offsets ``(n, 2)`` (pixels, eased
    start to end), zooms ``(n,)`` (1 -> end or end -> 1), and the speed, angle and end zoom drawn."""
    speed = rng.uniform(*PAN_SPEED) * size / 128.0
    angle = rng.uniform(0, 2 * np.pi)
    zoom_end = rng.uniform(*ZOOM_END)
    zoom_in = rng.uniform() < 0.5
    u = np.arange(n) / max(n - 1, 1)
    ease = 0.5 - 0.5 * np.cos(np.pi * u)  # smooth start and stop
    dist = speed * max(n - 1, 0) * 2 / np.pi  # eased path: peak speed pi/2 x the mean
    offsets = np.outer(ease * dist, [np.cos(angle), np.sin(angle)])
    zooms = 1 + (zoom_end - 1) * (ease if zoom_in else 1 - ease)
    return offsets, zooms, float(speed), float(angle), float(zoom_end if zoom_in else 1 / zoom_end)


def _add_noise(frames: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Add zero-mean Gaussian pixel noise of std ``sigma``, quantised to whole levels: uniform random
    bytes through an inverse-normal lookup table (much cheaper than drawing normals)."""
    levels = np.array([NormalDist(0.0, sigma).inv_cdf((k + 0.5) / 256) for k in range(256)])
    levels = np.rint(levels)
    pos = np.clip(levels, 0, 255).astype(np.uint8)
    neg = np.clip(-levels, 0, 255).astype(np.uint8)
    flat = frames.reshape(-1, frames.shape[-2] * frames.shape[-1])
    draw = np.frombuffer(rng.bytes(flat.size), np.uint8).reshape(flat.shape)
    out = cv2.subtract(cv2.add(flat, cv2.LUT(draw, pos)), cv2.LUT(draw, neg))
    return out.reshape(frames.shape)


def render_clip_layers(
    action: str,
    *,
    seed: int,
    incorrect: bool = False,
    actor: int | None = None,
    num_frames: int = 40,
    size: int = 128,
    pixel_noise: bool = True,
    plate: np.ndarray | None = None,
    camera: str = "shake",
) -> tuple[SyntheticClip, ClipLayers]:
    """``render_clip`` plus the layers it composited. ``pixel_noise=False`` skips the per-frame noise;
    ``plate`` (``(size + 2*MARGIN,)*2 + (3,)`` uint8) replaces the random background (not with
    ``camera="pan_zoom"``, whose plate is larger)."""
    check_action(action)
    if num_frames < 1 or size < 16:
        raise ValueError(f"need num_frames >= 1 and size >= 16, got {num_frames} and {size}")
    if camera not in CAMERAS:
        raise ValueError(f"camera={camera!r}: expected one of {', '.join(CAMERAS)}")
    if camera == "pan_zoom" and plate is not None:
        raise ValueError("plate= is not supported with camera='pan_zoom' (its plate is larger)")
    motion_ss, bg_ss, cam_ss, noise_ss = np.random.SeedSequence(
        [int(seed) & 0xFFFFFFFF, 0x5EED]
    ).spawn(4)
    rng = np.random.default_rng(motion_ss)
    # Draw every nuisance in a fixed order, independent of the action, so one seed gives the same
    # actor / background / placement for every action (controlled comparisons).
    actor_draw = int(rng.integers(DEFAULT_ACTOR_POOL))
    tempo_u, phase0, amp_u, mode_u = rng.uniform(size=4)
    lead = 1 if rng.uniform() < 0.5 else -1
    yaw_u, yaw_sign = rng.uniform(), (1 if rng.uniform() < 0.5 else -1)
    scale_u, pos_x_u, pos_y_u = rng.uniform(size=3)
    jitter_amp, noise_sigma = rng.uniform(0.0, 1.3), rng.uniform(0.5, 3.0)

    who = make_actor(actor_draw if actor is None else int(actor))
    mode = None
    if incorrect:
        modes = INCORRECT_MODES[action]
        mode = modes[min(int(mode_u * len(modes)), len(modes) - 1)]
    lo, hi = TEMPO[action]
    cycles = (lo + (hi - lo) * tempo_u) * num_frames / 40.0
    if mode == "too_slow":
        cycles = (0.5 + 0.4 * tempo_u) * num_frames / 40.0
    amp = 0.88 + 0.2 * amp_u
    if mode == "half_squat":
        amp = 0.3 + 0.12 * amp_u
    if action == "walk":
        yaw = yaw_sign * (55 + 35 * yaw_u)
    else:
        yaw = yaw_sign * 40 * yaw_u
    rot = rot_y(yaw)

    us = phase0 + cycles * np.arange(num_frames) / num_frames
    poses = [pose_at(action, float(u), amp=amp, lead=lead, mode=mode) for u in us]
    stride = 0.0
    if action == "walk":
        # two steps per gait cycle, each ~2 * leg * sin(swing); 15% foot slip
        stride = 0.85 * 4 * (who.thigh + who.shin) * np.sin(np.radians(24 * amp))
    body = np.zeros((num_frames, len(_POINTS), 3))
    for i, pose in enumerate(poses):
        jts = forward_kinematics(who, pose)
        body[i, : len(_JOINTS)] = [jts[name] for name in _JOINTS]
    for name, (a, b, t) in _VIRTUAL.items():
        body[:, _IDX[name]] = body[:, _IDX[a]] + t * (body[:, _IDX[b]] - body[:, _IDX[a]])
    body = body @ rot.T

    # Placement: a common scale range for every action; walkers are slowed (slide) to stay in view.
    pad = MARGIN + 2
    scale = size * (0.52 + 0.2 * scale_u)
    ext = who.head_r + who.leg_th

    def extent(pts: np.ndarray) -> tuple[float, float, float, float]:
        return (
            pts[..., 0].min() - ext,
            pts[..., 0].max() + ext,
            pts[..., 1].min() - who.leg_th,
            pts[..., 1].max() + ext + who.head_r,
        )

    x_lo, x_hi, y_lo, y_hi = extent(body)
    span_y = y_hi - y_lo
    scale = min(scale, (size - 2 * pad) / span_y, (size - 2 * pad) / (x_hi - x_lo))
    travel = 0.0
    if action == "walk":
        along = np.sin(np.radians(yaw))
        room = (size - 2 * pad) / scale - (x_hi - x_lo)
        travel = min(stride * cycles, room / abs(along))
        offsets = travel * (np.arange(num_frames) / max(num_frames - 1, 1) - 0.5)
        body[..., 0] += (along * offsets)[:, None]
        body[..., 2] += (np.cos(np.radians(yaw)) * offsets)[:, None]
        x_lo, x_hi, y_lo, y_hi = extent(body)
    free_x = size - 2 * pad - scale * (x_hi - x_lo)
    free_y = size - 2 * pad - scale * (y_hi - y_lo)
    left = pad + max(free_x, 0.0) * pos_x_u - scale * x_lo
    ground = size - pad - max(free_y, 0.0) * pos_y_u + scale * y_lo

    cam = np.random.default_rng(cam_ss)
    jitter = _smooth_jitter(cam, num_frames, jitter_amp)
    if camera != "shake":
        jitter = np.zeros_like(jitter)
    plate_side = size + 2 * MARGIN
    warps: list[np.ndarray] = []
    if camera == "pan_zoom":
        # The camera follows the figure (it keeps its place in the frame up to the zoom) while
        # the plate behind it pans; zoom about the figure's mean centre keeps it in view.
        offsets, zooms, speed, angle, zoom_end = _pan_zoom_path(cam, num_frames, size)
        lo = np.floor(offsets.min(0)).astype(int)
        hi = np.ceil(offsets.max(0)).astype(int)
        plate_side = size + 2 * MARGIN + int(max(hi - lo))
        start = MARGIN - lo  # plate pixel at the first frame's top-left (before the zoom)
    if plate is None:
        plate, bg_info = make_background(np.random.default_rng(bg_ss), plate_side)
    else:
        bg_info = {"custom": True}
        if plate.shape != (size + 2 * MARGIN, size + 2 * MARGIN, 3):
            raise ValueError(f"plate must be {(size + 2 * MARGIN,) * 2 + (3,)}, got {plate.shape}")

    backgrounds = np.empty((num_frames, size, size, 3), np.uint8)
    alpha = np.zeros((num_frames, size, size), np.uint8)
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    points = np.empty((num_frames, len(_POINTS), 2))
    prims = _actor_prims(who)
    reach = scale * (who.torso_th / 2 + who.head_r) + 2
    if camera == "pan_zoom":
        anchor = np.stack(
            [left + scale * body[..., 0], ground - scale * body[..., 1]], axis=-1
        ).mean(axis=(0, 1))
        anchor = np.clip(anchor, 0, size - 1)
    for i in range(num_frames):
        jx, jy = int(jitter[i, 0]), int(jitter[i, 1])
        xy = np.stack(
            [left + scale * body[i, :, 0] - jx, ground - scale * body[i, :, 1] - jy], axis=1
        )
        zoom = 1.0
        if camera == "pan_zoom":
            # frame p = anchor + zoom * (plate q - start - offset - anchor)
            zoom = float(zooms[i])
            shift = anchor - zoom * (start + offsets[i] + anchor)
            warp = np.array([[zoom, 0.0, shift[0]], [0.0, zoom, shift[1]]])
            warps.append(warp)
            bg = cv2.warpAffine(
                plate, warp, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
            )
            xy = anchor + zoom * (xy - anchor)
        else:
            bg = plate[MARGIN + jy : MARGIN + jy + size, MARGIN + jx : MARGIN + jx + size]
        backgrounds[i] = bg
        frames[i] = bg
        points[i] = xy
        grow = reach * zoom
        (bx0, by0), (bx1, by1) = np.floor(xy.min(0) - grow), np.ceil(xy.max(0) + grow) + 1
        bx0, by0 = max(int(bx0), 0), max(int(by0), 0)
        bx1, by1 = min(int(bx1), size), min(int(by1), size)
        if bx1 > bx0 and by1 > by0:
            col, cov8 = _draw_figure(
                prims, who, xy, body[i, :, 2], scale=scale * zoom, box=(bx0, by0, bx1, by1)
            )
            region = bg[by0:by1, bx0:bx1].astype(np.float32)
            region *= 1.0 - cov8[..., None].astype(np.float32) / 255.0
            region += col
            frames[i, by0:by1, bx0:bx1] = np.clip(np.rint(region), 0, 255).astype(np.uint8)
            alpha[i, by0:by1, bx0:bx1] = cov8
    if pixel_noise:
        frames = _add_noise(frames, np.random.default_rng(noise_ss), noise_sigma)
    masks = alpha >= MASK_LEVEL

    meta = {
        "seed": int(seed),
        "action": action,
        "variant": "incorrect" if incorrect else "correct",
        "incorrect_mode": mode,
        "actor": who.index,
        "cycles": round(float(cycles), 4),
        "phase0": round(float(phase0), 4),
        "amplitude": round(float(amp), 4),
        "lead_side": "right" if lead == 1 else "left",
        "yaw_deg": round(float(yaw), 2),
        "scale_px": round(float(scale), 2),
        "origin_px": [round(float(left), 2), round(float(ground), 2)],
        "walk_travel": round(float(travel), 4),
        "jitter_amp": round(float(jitter_amp), 3),
        "jitter": jitter.tolist(),
        "pixel_noise_sigma": round(float(noise_sigma), 3) if pixel_noise else 0.0,
        "background": bg_info,
    }
    if camera != "shake":  # the default's meta (and so meta.jsonl) stays as it was
        meta["camera"] = camera
    if camera == "pan_zoom":
        meta.update(
            pan_speed_px=round(speed, 3),
            pan_angle_deg=round(float(np.degrees(angle)), 2),
            zoom_end=round(zoom_end, 4),
            camera_warps=[np.round(w, 4).tolist() for w in warps],
        )
    clip = SyntheticClip(
        frames=frames,
        masks=masks,
        label=action,
        variant=meta["variant"],
        actor=who.name,
        meta=meta,
    )
    layers = ClipLayers(
        backgrounds=backgrounds,
        coverage=alpha.astype(np.float32) / 255.0,
        joints=points,
        joint_names=_POINTS,
    )
    return clip, layers


def render_clip(
    action: str,
    *,
    seed: int,
    incorrect: bool = False,
    actor: int | None = None,
    num_frames: int = 40,
    size: int = 128,
    camera: str = "shake",
) -> SyntheticClip:
    """Render one ``num_frames`` x ``size`` x ``size`` clip of ``action``; deterministic in its arguments.

    The seed fixes every nuisance draw (actor when ``actor`` is None, background, placement, tempo,
    phase, view, camera jitter, noise) independently of ``action``; ``incorrect`` renders the
    action's faulty execution. Unknown actions raise ``ValueError`` listing ``ACTIONS``.
    ``camera`` (``CAMERAS``): ``shake`` (default, a few pixels of smooth jitter), ``still`` or
    ``pan_zoom`` (a smooth pan of a few pixels per frame and a zoom between 1 and ~1.2 of the
    whole scene, following the figure; ``meta["camera_warps"]`` holds each frame's plate-to-frame
    affine). The masks always are the figure's pixels in the rendered frame.
    """
    return render_clip_layers(
        action,
        seed=seed,
        incorrect=incorrect,
        actor=actor,
        num_frames=num_frames,
        size=size,
        camera=camera,
    )[0]


__all__ = [
    "ACTIONS",
    "CAMERAS",
    "ClipLayers",
    "SyntheticClip",
    "make_background",
    "render_clip",
    "render_clip_layers",
    "stable_hash",
]
