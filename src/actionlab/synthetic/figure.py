"""Articulated 3-D stick figure: actor proportions, per-action pose functions and forward kinematics.

Coordinates are in body units (standing height ~= 1): x to the figure's screen right when it faces
the camera, y up, z towards the camera. Limb directions are given as absolute unit vectors; the
pelvis is placed so the lowest foot point touches the ground (``y = 0``) plus any jump height.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

ACTIONS: tuple[str, ...] = ("wave", "clap", "jump", "squat", "walk", "arm_circles")

#: Cycles per nominal 40-frame (2 s at 20 fps) clip: the natural tempo range of each action.
TEMPO: dict[str, tuple[float, float]] = {
    "wave": (2.0, 3.2),
    "clap": (4.0, 6.0),
    "jump": (1.5, 2.3),
    "squat": (1.0, 1.7),
    "walk": (1.1, 1.5),
    "arm_circles": (2.5, 3.8),
}

#: Which incorrect-execution modes each action has (one is drawn per incorrect clip).
INCORRECT_MODES: dict[str, tuple[str, ...]] = {
    "wave": ("arm_too_low",),
    "clap": ("one_arm",),
    "jump": ("no_leg_extension",),
    "squat": ("half_squat",),
    "walk": ("no_arm_swing",),
    "arm_circles": ("too_small", "too_slow"),
}

SIDES: tuple[int, int] = (1, -1)


def check_action(action: str) -> str:
    """Return ``action`` if known, else raise ``ValueError`` listing ``ACTIONS``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    return action


def stable_hash(text: str) -> int:
    """A process-independent 32-bit hash (``hash()`` is salted per interpreter)."""
    return zlib.crc32(text.encode("utf-8"))


@dataclass(frozen=True)
class Actor:
    """Body proportions and colour set of one synthetic actor (the split group)."""

    index: int
    torso: float
    neck: float
    head_r: float
    shoulder_w: float
    hip_w: float
    upper_arm: float
    forearm: float
    thigh: float
    shin: float
    foot: float
    arm_th: float
    leg_th: float
    torso_th: float
    skin: tuple[int, int, int]
    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    shoes: tuple[int, int, int]
    hair: tuple[int, int, int]
    long_sleeves: bool

    @property
    def name(self) -> str:
        """Group name, e.g. ``actor03``."""
        return f"actor{self.index:02d}"

    def to_dict(self) -> dict:
        """JSON-serialisable description."""
        out: dict = {}
        for key, value in self.__dict__.items():
            out[key] = list(value) if isinstance(value, tuple) else value
        return out


_SKIN = (
    (255, 219, 172),
    (241, 194, 125),
    (224, 172, 105),
    (198, 134, 66),
    (141, 85, 36),
    (92, 58, 32),
)
_HAIR = (
    (20, 15, 10),
    (70, 45, 25),
    (150, 100, 50),
    (220, 190, 120),
    (120, 120, 120),
    (160, 40, 20),
)


def _hsv_colour(
    rng: np.random.Generator, s: tuple[float, float], v: tuple[float, float]
) -> tuple[int, int, int]:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(*s), rng.uniform(*v))
    return int(r * 255), int(g * 255), int(b * 255)


def make_actor(index: int) -> Actor:
    """Actor ``index``: proportions and colours drawn from an RNG seeded by the index alone."""
    rng = np.random.default_rng([0xAC7012, int(index)])
    limbs = rng.uniform(0.92, 1.08)
    arms = limbs * rng.uniform(0.94, 1.06)
    build = rng.uniform(0.85, 1.2)
    shirt = _hsv_colour(rng, (0.35, 0.95), (0.35, 0.95))
    pants = _hsv_colour(rng, (0.2, 0.8), (0.15, 0.7))
    return Actor(
        index=int(index),
        torso=0.30 * rng.uniform(0.94, 1.06),
        neck=0.035,
        head_r=0.066 * rng.uniform(0.92, 1.1),
        shoulder_w=0.105 * build**0.5,
        hip_w=0.058 * build**0.5,
        upper_arm=0.165 * arms,
        forearm=0.15 * arms,
        thigh=0.245 * limbs,
        shin=0.235 * limbs,
        foot=0.075,
        arm_th=0.052 * build,
        leg_th=0.068 * build,
        torso_th=0.16 * build,
        skin=_SKIN[int(rng.integers(len(_SKIN)))],
        shirt=shirt,
        pants=pants,
        shoes=_hsv_colour(rng, (0.0, 0.6), (0.05, 0.5)),
        hair=_HAIR[int(rng.integers(len(_HAIR)))],
        long_sleeves=bool(rng.uniform() < 0.5),
    )


def direction(abd: float, flex: float, side: int) -> np.ndarray:
    """Unit limb vector from hanging straight down: ``abd`` degrees out sideways (negative = across
    the body), then ``flex`` degrees forward towards +z (a rotation about the x axis)."""
    a, f = np.radians(abd), np.radians(flex)
    return np.array([side * np.sin(a), -np.cos(a) * np.cos(f), np.cos(a) * np.sin(f)])


@dataclass
class Pose:
    """Directions of every limb (keys ``upper_arm``/``forearm``/``thigh``/``shin``/``foot`` per side),
    torso lean (degrees forward, sideways), jump height and forward travel (body units)."""

    limbs: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    lean: float = 0.0
    tilt: float = 0.0
    air: float = 0.0
    travel: float = 0.0
    planted: bool = True


def _bump(v: float, a: float, b: float) -> float:
    """Smooth 0 -> 1 -> 0 bump on ``[a, b]``, zero outside."""
    if v <= a or v >= b:
        return 0.0
    return float(np.sin(np.pi * (v - a) / (b - a)) ** 2)


def _neutral(pose: Pose, *, sway: float = 0.0) -> Pose:
    for s in SIDES:
        pose.limbs.setdefault(("upper_arm", s), direction(9 + sway, 4, s))
        pose.limbs.setdefault(("forearm", s), direction(6 + sway, 14, s))
        pose.limbs.setdefault(("thigh", s), direction(4, 0, s))
        pose.limbs.setdefault(("shin", s), direction(2, 0, s))
        pose.limbs.setdefault(("foot", s), direction(8, 90, s))
    return pose


def _wave(u: float, amp: float, lead: int, mode: str | None) -> Pose:
    p = 2 * np.pi * u
    pose = Pose(tilt=-3.0 * lead + 1.5 * np.sin(p))
    if mode == "arm_too_low":
        pose.limbs[("upper_arm", lead)] = direction(40, 25, lead)
        pose.limbs[("forearm", lead)] = direction(84 + 26 * amp * np.sin(p), 25, lead)
    else:
        pose.limbs[("upper_arm", lead)] = direction(128, 12, lead)
        pose.limbs[("forearm", lead)] = direction(162 + 30 * amp * np.sin(p), 12, lead)
    return _neutral(pose, sway=1.5 * np.sin(p))


def _clap(u: float, amp: float, lead: int, mode: str | None) -> Pose:
    openness = float(np.abs(np.sin(np.pi * u)) ** 0.8) * amp
    pose = Pose(lean=4.0)
    for s in SIDES:
        if mode == "one_arm" and s != lead:
            continue
        pose.limbs[("upper_arm", s)] = direction(14 + 40 * openness, 48 - 10 * openness, s)
        pose.limbs[("forearm", s)] = direction(-72 + 118 * openness, 72 - 12 * openness, s)
    return _neutral(pose)


def _legs_bent(pose: Pose, bend: float, *, knees_out: float = 6.0) -> None:
    for s in SIDES:
        pose.limbs[("thigh", s)] = direction(4 + knees_out * bend / 90, bend, s)
        pose.limbs[("shin", s)] = direction(2, -0.85 * bend, s)
        pose.limbs[("foot", s)] = direction(8, 90, s)


def _jump(u: float, amp: float, lead: int, mode: str | None) -> Pose:
    v = u % 1.0
    crouch = _bump(v, 0.02, 0.38) + 0.6 * _bump(v, 0.72, 1.0)
    air = _bump(v, 0.36, 0.74) ** 0.5 if 0.36 < v < 0.74 else 0.0
    lift = float(np.sin(np.pi * (v - 0.36) / 0.38)) if 0.36 < v < 0.74 else 0.0
    arms_up = _bump(v, 0.22, 0.86)
    pose = Pose(lean=22 * crouch, air=0.2 * amp * lift)
    bend = 75 * crouch
    if mode == "no_leg_extension":
        bend = 55 + 25 * crouch
    _legs_bent(pose, bend, knees_out=10)
    if mode != "no_leg_extension":
        for s in SIDES:  # toes point down while airborne
            pose.limbs[("foot", s)] = direction(8, 90 - 55 * air, s)
    for s in SIDES:
        pose.limbs[("upper_arm", s)] = direction(12 + 145 * arms_up, -25 * crouch, s)
        pose.limbs[("forearm", s)] = direction(10 + 155 * arms_up, -15 * crouch + 10, s)
    return _neutral(pose)


def _squat(u: float, amp: float, lead: int, mode: str | None) -> Pose:
    depth = float((1 - np.cos(2 * np.pi * u)) / 2) * amp
    pose = Pose(lean=42 * depth)
    for s in SIDES:
        pose.limbs[("thigh", s)] = direction(4 + 12 * depth, 100 * depth, s)
        pose.limbs[("shin", s)] = direction(2 + 4 * depth, -38 * depth, s)
        pose.limbs[("upper_arm", s)] = direction(9 - 3 * depth, 4 + 84 * depth, s)
        pose.limbs[("forearm", s)] = direction(6 - 3 * depth, 14 + 76 * depth, s)
    return _neutral(pose)


def _walk(u: float, amp: float, lead: int, mode: str | None) -> Pose:
    p = 2 * np.pi * u
    swing = 24 * amp
    pose = Pose(lean=4.0, planted=False)
    for s in SIDES:
        q = p if s == 1 else p + np.pi
        thigh = swing * np.sin(q)
        knee = 8 + 52 * max(0.0, float(np.cos(q - 0.35))) ** 1.5
        pose.limbs[("thigh", s)] = direction(3, thigh, s)
        pose.limbs[("shin", s)] = direction(2, thigh - knee, s)
        pose.limbs[("foot", s)] = direction(4, 90 + 0.6 * (thigh - knee) + 12, s)
        if mode != "no_arm_swing":
            arm = -0.9 * swing * np.sin(q)
            pose.limbs[("upper_arm", s)] = direction(7, arm, s)
            pose.limbs[("forearm", s)] = direction(5, arm + 22 + 8 * np.sin(q), s)
        else:
            pose.limbs[("upper_arm", s)] = direction(6, 0, s)
            pose.limbs[("forearm", s)] = direction(5, 4, s)
    return _neutral(pose)


def _arm_circles(u: float, amp: float, lead: int, mode: str | None) -> Pose:
    p = 2 * np.pi * u
    cone = np.radians((8.0 if mode == "too_small" else 38.0) * amp)
    pose = Pose()
    for s in SIDES:
        axis = direction(88, 0, s)
        d = np.cos(cone) * axis + np.sin(cone) * np.array([0.0, np.cos(p), np.sin(p)])
        pose.limbs[("upper_arm", s)] = d
        pose.limbs[("forearm", s)] = d
    return _neutral(pose)


PoseFn = Callable[[float, float, int, "str | None"], Pose]
POSE_FUNCTIONS: dict[str, PoseFn] = {
    "wave": _wave,
    "clap": _clap,
    "jump": _jump,
    "squat": _squat,
    "walk": _walk,
    "arm_circles": _arm_circles,
}


def pose_at(
    action: str, u: float, *, amp: float = 1.0, lead: int = 1, mode: str | None = None
) -> Pose:
    """Pose of ``action`` at phase ``u`` (in cycles; the motion repeats every 1.0)."""
    return POSE_FUNCTIONS[check_action(action)](u, amp, lead, mode)


def _rot_x(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_z(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def rot_y(deg: float) -> np.ndarray:
    """Rotation about the vertical axis; +90 turns a camera-facing figure to face screen right."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def forward_kinematics(actor: Actor, pose: Pose) -> dict[str, np.ndarray]:
    """3-D joint positions (body frame, before yaw) with the lowest foot point on ``y = air``.

    Keys: pelvis, neck, head, shoulder/elbow/wrist/hip/knee/ankle/toe + ``_r`` (x > 0) or ``_l``.
    Planted poses keep the ankles' mean x/z at the origin; others move forward by ``pose.travel``.
    """
    torso_rot = _rot_z(-pose.tilt) @ _rot_x(pose.lean)
    up = torso_rot @ np.array([0.0, 1.0, 0.0])
    j: dict[str, np.ndarray] = {"pelvis": np.zeros(3)}
    j["neck"] = up * actor.torso
    j["head"] = j["neck"] + up * (actor.neck + actor.head_r)
    for s, tag in ((1, "_r"), (-1, "_l")):
        sh = j["neck"] + torso_rot @ np.array([s * actor.shoulder_w, -0.025, 0.0])
        j["shoulder" + tag] = sh
        j["elbow" + tag] = sh + actor.upper_arm * pose.limbs[("upper_arm", s)]
        j["wrist" + tag] = j["elbow" + tag] + actor.forearm * pose.limbs[("forearm", s)]
        hip = np.array([s * actor.hip_w, 0.0, 0.0])
        j["hip" + tag] = hip
        j["knee" + tag] = hip + actor.thigh * pose.limbs[("thigh", s)]
        j["ankle" + tag] = j["knee" + tag] + actor.shin * pose.limbs[("shin", s)]
        j["toe" + tag] = j["ankle" + tag] + actor.foot * pose.limbs[("foot", s)]
    ground = min(j[k][1] for k in ("ankle_r", "ankle_l", "toe_r", "toe_l")) - 0.012
    shift = np.array([0.0, pose.air - ground, 0.0])
    if pose.planted:
        mid = (j["ankle_r"] + j["ankle_l"]) / 2
        shift[0], shift[2] = -mid[0], -mid[2]
    else:
        shift[2] = pose.travel
    return {k: v + shift for k, v in j.items()}
