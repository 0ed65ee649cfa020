"""Rendering: determinism, mask alignment, per-action motion and incorrect variants."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from actionlab.synthetic import (
    ACTIONS,
    INCORRECT_MODES,
    SyntheticClip,
    make_actor,
    render_clip,
    render_clip_layers,
)
from actionlab.synthetic.render import MARGIN

SEEDS = (0, 1, 2)


def joint(layers, name: str) -> np.ndarray:
    """(T, 2) pixel track of one joint."""
    return layers.joints[:, layers.joint_names.index(name)]


def test_actions_are_the_contract():
    assert ACTIONS == ("wave", "clap", "jump", "squat", "walk", "arm_circles")
    assert set(INCORRECT_MODES) == set(ACTIONS)


def test_unknown_action_lists_the_known_ones():
    with pytest.raises(ValueError, match="wave.*clap.*jump.*squat.*walk.*arm_circles"):
        render_clip("dance", seed=0)


@pytest.mark.parametrize("action", ACTIONS)
def test_clip_contract(action):
    clip = render_clip(action, seed=7, num_frames=12, size=96)
    assert isinstance(clip, SyntheticClip)
    assert clip.frames.shape == (12, 96, 96, 3) and clip.frames.dtype == np.uint8
    assert clip.masks.shape == (12, 96, 96) and clip.masks.dtype == bool
    assert clip.label == action and clip.variant == "correct"
    assert clip.actor.startswith("actor") and len(clip.actor) == 7
    meta = json.loads(json.dumps(clip.meta))  # json-serialisable, round-trips
    assert meta["action"] == action and meta["seed"] == 7
    incorrect = render_clip(action, seed=7, incorrect=True, num_frames=12, size=96)
    assert incorrect.variant == "incorrect"
    assert incorrect.meta["incorrect_mode"] in INCORRECT_MODES[action]


def test_same_seed_identical_different_seed_differs():
    a = render_clip("jump", seed=3)
    b = render_clip("jump", seed=3)
    c = render_clip("jump", seed=4)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.masks, b.masks)
    assert a.meta == b.meta and a.actor == b.actor
    assert not np.array_equal(a.frames, c.frames)
    assert not np.array_equal(a.masks, c.masks)


def test_actor_argument_fixes_body_and_colours():
    assert render_clip("wave", seed=1, actor=3, num_frames=2).actor == "actor03"
    assert make_actor(3) == make_actor(3)
    assert make_actor(3).to_dict() != make_actor(4).to_dict()


def test_nuisance_is_independent_of_the_action():
    """One seed: same actor, background, camera and view range for every action; only motion differs."""
    clips = [render_clip_layers(a, seed=11, num_frames=8) for a in ACTIONS]
    first, first_layers = clips[0]
    for clip, layers in clips[1:]:
        assert clip.actor == first.actor
        assert clip.meta["background"] == first.meta["background"]
        assert clip.meta["jitter"] == first.meta["jitter"]
        assert np.array_equal(layers.backgrounds, first_layers.backgrounds)


@pytest.mark.parametrize("action", ACTIONS)
def test_masks_nonempty_and_inside_the_frame(action):
    for seed in SEEDS:
        for incorrect in (False, True):
            masks = render_clip(action, seed=seed, incorrect=incorrect).masks
            area = masks.sum(axis=(1, 2))
            assert (area > 60).all(), (seed, incorrect, area.min())
            border = (
                masks[:, 0].any()
                or masks[:, -1].any()
                or masks[:, :, 0].any()
                or masks[:, :, -1].any()
            )
            assert not border, (seed, incorrect)


@pytest.mark.parametrize("action", ACTIONS)
def test_mask_is_exactly_the_figure_on_a_flat_plate(action):
    size = 128
    colour = np.array([0, 255, 0], np.uint8)  # no figure colour reaches G = 255 with R = B = 0
    plate = np.broadcast_to(colour, (size + 2 * MARGIN, size + 2 * MARGIN, 3)).copy()
    clip, layers = render_clip_layers(action, seed=5, size=size, pixel_noise=False, plate=plate)
    changed = (clip.frames != colour).any(axis=-1)
    untouched = layers.coverage == 0
    assert not changed[untouched].any()  # no paint outside the figure
    assert changed[clip.masks].all()  # every mask pixel shows the figure
    assert np.array_equal(clip.masks, layers.coverage >= 0.5)
    halo = changed & ~clip.masks  # only anti-aliased edge pixels, less than half covered
    assert (layers.coverage[halo] < 0.5).all()
    assert halo.sum() < clip.masks.sum()


def test_mask_follows_camera_jitter():
    size = 96
    rng = np.random.default_rng(0)
    plate = rng.integers(0, 256, size=(size + 2 * MARGIN, size + 2 * MARGIN, 3), dtype=np.uint8)
    seed = next(
        s
        for s in range(50)
        if np.abs(render_clip("clap", seed=s, num_frames=30, size=size).meta["jitter"]).max() > 0
    )
    clip, layers = render_clip_layers(
        "clap", seed=seed, num_frames=30, size=size, pixel_noise=False, plate=plate
    )
    jitter = np.array(clip.meta["jitter"])
    assert len(np.unique(jitter, axis=0)) > 1
    for t, (jx, jy) in enumerate(jitter):
        crop = plate[MARGIN + jy : MARGIN + jy + size, MARGIN + jx : MARGIN + jx + size]
        assert np.array_equal(layers.backgrounds[t], crop)
        outside = layers.coverage[t] == 0
        assert np.array_equal(clip.frames[t][outside], crop[outside])
        differs = (clip.frames[t] != crop).any(axis=-1)
        assert differs[clip.masks[t]].mean() > 0.97


def _track_stats(action: str, seed: int, **kw) -> dict[str, float]:
    clip, layers = render_clip_layers(action, seed=seed, **kw)
    height = clip.meta["scale_px"]  # pixels per body height
    ys, xs = np.nonzero(clip.masks.any(axis=0))
    cy = np.array([np.nonzero(m)[0].mean() for m in clip.masks])
    cx = np.array([np.nonzero(m)[1].mean() for m in clip.masks])
    head = joint(layers, "head")
    return {
        "centroid_y_range": float(np.ptp(cy)) / height,
        "centroid_x_travel": float(abs(cx[-1] - cx[0])) / height,
        "head_y_range": float(np.ptp(head[:, 1])) / height,
        "head_drop": float(head[:, 1].max() - head[:, 1].min()) / height,
    }


def test_actions_differ_in_motion():
    stats = {a: [_track_stats(a, s) for s in SEEDS] for a in ACTIONS}

    def mean(action: str, key: str) -> float:
        return float(np.mean([s[key] for s in stats[action]]))

    # jump moves the whole silhouette up and down far more than the arm-only actions
    for other in ("wave", "clap", "arm_circles", "walk"):
        assert mean("jump", "centroid_y_range") > 2 * mean(other, "centroid_y_range"), other
    # squat lowers the head by a good part of the body height; waving / clapping hardly move it
    assert mean("squat", "head_drop") > 0.25
    for other in ("wave", "clap", "arm_circles"):
        assert mean(other, "head_y_range") < 0.06, other
    # walking is the one action that travels across the frame
    for other in ACTIONS:
        if other != "walk":
            assert mean("walk", "centroid_x_travel") > 3 * mean(other, "centroid_x_travel"), other


def _motion_descriptor(masks: np.ndarray) -> np.ndarray:
    """Where in the figure's box the silhouette changes (4x4 grid), and how fast (mask-only)."""
    ys, xs = np.nonzero(masks.any(axis=0))
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    box = masks[:, y0:y1, x0:x1].astype(np.float32)
    change = np.abs(np.diff(box, axis=0))  # (T-1, h, w)
    energy = change.sum(axis=0)
    grid = np.array(
        [
            [cell.sum() for cell in np.array_split(row, 4, axis=1)]
            for row in np.array_split(energy, 4, axis=0)
        ]
    ).ravel()
    grid /= grid.sum() + 1e-6
    per_frame = change.sum(axis=(1, 2)) / box.sum(axis=(1, 2)).mean()
    rows = [np.nonzero(m.any(axis=1))[0] for m in masks]
    cols = [np.nonzero(m.any(axis=0))[0] for m in masks]
    height = np.array([r[-1] - r[0] for r in rows]) / (y1 - y0)
    width = np.array([c[-1] - c[0] for c in cols]) / (y1 - y0)
    cy = np.array([np.nonzero(m)[0].mean() for m in masks]) / (y1 - y0)
    cx = np.array([np.nonzero(m)[1].mean() for m in masks]) / (y1 - y0)
    shape = [np.ptp(height), np.ptp(width), np.ptp(cy), abs(cx[-1] - cx[0])]
    return np.concatenate([grid, [per_frame.mean(), *shape]])


def test_actions_separable_from_motion_across_unseen_actors():
    """Nearest class mean on a silhouette-motion descriptor, trained on two actors, tested on two others."""
    feats, labels, actors = [], [], []
    for label, action in enumerate(ACTIONS):
        for k in range(8):
            clip = render_clip(action, seed=1000 + k, actor=k % 4)
            feats.append(_motion_descriptor(clip.masks))
            labels.append(label)
            actors.append(k % 4)
    x, y, g = np.array(feats), np.array(labels), np.array(actors)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    train, test = g < 2, g >= 2
    centres = np.stack([x[train & (y == c)].mean(0) for c in range(len(ACTIONS))])
    pred = np.argmin(((x[test, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert (pred == y[test]).mean() >= 0.85


def _wrist_tracks(clip_layers):
    clip, layers = clip_layers
    lead = "_r" if clip.meta["lead_side"] == "right" else "_l"
    other = "_l" if lead == "_r" else "_r"
    return (
        clip.meta["scale_px"],
        joint(layers, "wrist" + lead),
        joint(layers, "wrist" + other),
        layers,
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_incorrect_variants_differ_measurably(seed):
    def both(action):
        return (
            render_clip_layers(action, seed=seed),
            render_clip_layers(action, seed=seed, incorrect=True),
        )

    # squat: a half squat lowers the head much less
    ok, bad = (_track_stats("squat", seed, incorrect=v) for v in (False, True))
    assert bad["head_drop"] < 0.55 * ok["head_drop"]

    # wave: the waving hand stays far lower (height relative to the head; placement differs)
    tops = []
    for c in both("wave"):
        h, lead, _, layers = _wrist_tracks(c)
        tops.append((lead[:, 1] - joint(layers, "head")[:, 1]).min() / h)
    assert tops[0] < 0 < tops[1] and tops[1] - tops[0] > 0.2

    # clap: one hand never moves in the one-arm clap
    (h, a_ok, b_ok, _), (_, a_bad, b_bad, _) = (_wrist_tracks(c) for c in both("clap"))
    assert np.ptp(b_ok[:, 0]) > 0.1 * h and np.ptp(b_bad[:, 0]) < 0.03 * h
    assert np.ptp(a_bad[:, 0]) > 0.1 * h

    # jump: the legs never straighten (hip-to-ankle height stays short)
    legs = []
    for clip, layers in both("jump"):
        reach = joint(layers, "ankle_r")[:, 1] - joint(layers, "hip_r")[:, 1]
        legs.append(reach.max() / clip.meta["scale_px"])
    assert legs[1] < 0.85 * legs[0]

    # walk: no arm swing
    swings = []
    for clip, layers in both("walk"):
        rel = joint(layers, "wrist_r")[:, 0] - joint(layers, "shoulder_r")[:, 0]
        swings.append(np.ptp(rel) / clip.meta["scale_px"])
    assert swings[1] < 0.3 * swings[0]


def test_incorrect_arm_circles_too_small_or_too_slow():
    seen = set()
    for seed in range(40):
        ok, ok_layers = render_clip_layers("arm_circles", seed=seed)
        bad, bad_layers = render_clip_layers("arm_circles", seed=seed, incorrect=True)
        mode = bad.meta["incorrect_mode"]
        if mode == "too_small":
            sway = [np.ptp(joint(lay, "wrist_r")[:, 1]) for lay in (ok_layers, bad_layers)]
            assert sway[1] < 0.4 * sway[0]
        else:
            assert mode == "too_slow" and bad.meta["cycles"] < 0.5 * ok.meta["cycles"]
        seen.add(mode)
        if len(seen) == 2:
            break
    assert seen == {"too_small", "too_slow"}


def test_clip_size_and_length_are_configurable():
    clip = render_clip("walk", seed=2, num_frames=5, size=64)
    assert clip.frames.shape == (5, 64, 64, 3) and clip.masks.shape == (5, 64, 64)
    assert clip.masks.any(axis=(1, 2)).all()


# ------------------------------------------------------------------------------ camera option


def test_default_camera_is_shake_and_still_only_drops_the_jitter():
    seed = next(
        s
        for s in range(50)
        if np.abs(render_clip("wave", seed=s, num_frames=20, size=64).meta["jitter"]).max() > 0
    )
    kw = {"seed": seed, "num_frames": 20, "size": 64, "pixel_noise": False}
    default, default_layers = render_clip_layers("wave", **kw)
    shake, _ = render_clip_layers("wave", camera="shake", **kw)
    assert np.array_equal(default.frames, shake.frames)
    assert json.dumps(default.meta, sort_keys=True) == json.dumps(shake.meta, sort_keys=True)
    assert "camera" not in default.meta  # the default data set's meta.jsonl keeps its keys
    still, still_layers = render_clip_layers("wave", camera="still", **kw)
    assert still.meta["camera"] == "still"
    assert not np.array(still.meta["jitter"]).any()
    # the same scene: the still camera's joints are the shaken ones plus the jitter
    jitter = np.array(default.meta["jitter"])[:, None, :]
    assert np.allclose(still_layers.joints, default_layers.joints + jitter)
    assert not np.array_equal(still.frames, default.frames)


def test_pan_zoom_moves_background_and_figure_with_the_camera():
    clip, layers = render_clip_layers(
        "squat", seed=4, num_frames=30, size=96, pixel_noise=False, camera="pan_zoom"
    )
    still, still_layers = render_clip_layers(
        "squat", seed=4, num_frames=30, size=96, pixel_noise=False, camera="still"
    )
    warps = [np.vstack([np.array(w), [0, 0, 1]]) for w in clip.meta["camera_warps"]]
    assert 1.5 * 96 / 128 <= clip.meta["pan_speed_px"] <= 3.0 * 96 / 128
    zooms = np.array([w[0, 0] for w in warps])
    assert (
        abs(zooms.max() / zooms.min() - max(clip.meta["zoom_end"], 1 / clip.meta["zoom_end"]))
        < 1e-3
    )
    # the plate pans: frame 0's background, moved by the camera, is frame t's background
    t = 29
    to_t = (warps[t] @ np.linalg.inv(warps[0]))[:2]
    moved = cv2.warpAffine(layers.backgrounds[0], to_t, (96, 96), flags=cv2.INTER_LINEAR)
    inside = cv2.warpAffine(np.ones((96, 96), np.uint8), to_t, (96, 96)) > 0
    inside = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert inside.mean() > 0.3 and np.abs(to_t[:, 2]).max() > 20  # a real pan, several px/frame
    err = np.abs(moved.astype(int) - layers.backgrounds[t])[inside].mean()
    unmoved = np.abs(layers.backgrounds[0].astype(int) - layers.backgrounds[t])[inside].mean()
    assert err < 4 and unmoved > 3 * err
    # the figure is the still camera's, zoomed with the camera (the camera follows it)
    for i in (0, 15, 29):
        a, b = layers.joints[i], still_layers.joints[i]
        scale = np.linalg.norm(a - a.mean(0)) / np.linalg.norm(b - b.mean(0))
        assert scale == pytest.approx(zooms[i], rel=1e-3)  # meta rounds to 4 decimals
        ratio = clip.masks[i].sum() / still.masks[i].sum()
        assert ratio == pytest.approx(zooms[i] ** 2, rel=0.12)
    # the masks are the figure's pixels in the rendered frame: no paint outside, all inside
    outside = layers.coverage == 0
    assert np.array_equal(clip.frames[outside], layers.backgrounds[outside])
    differs = (clip.frames != layers.backgrounds).any(axis=-1)
    assert differs[clip.masks].mean() > 0.97


def test_camera_option_is_checked():
    with pytest.raises(ValueError, match="camera='dolly'"):
        render_clip("wave", seed=0, camera="dolly")
    with pytest.raises(ValueError, match="pan_zoom"):
        render_clip_layers(
            "wave", seed=0, camera="pan_zoom", plate=np.zeros((136, 136, 3), np.uint8)
        )
