"""The SAM 2 backends ``grounded_sam2`` and ``sam2_oversegment``: their real code paths with random
models (``actionlab.segmentation.random_models``: a SAM 2 hiera-tiny checkpoint of random weights
loaded at 128 px; a tiny Grounding DINO saved to a folder and loaded with
``from_pretrained(local_files_only=True)``),
and their ID logic on hand-made masks. Random weights cannot track, so ID stability through the
backends is also checked with an oracle tracker standing in for SAM 2's propagation."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from actionlab.segmentation import grounded, oversegment, sam2_models
from actionlab.segmentation.base import build_segmenter
from actionlab.segmentation.ids import IdAssigner, iou_matrix
from actionlab.segmentation.masks import encode_masks
from actionlab.segmentation.tracks import Track, track_groups

H, W = 72, 96


def square(x: int, y: int, size: int = 24) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y : y + size, x : x + size] = True
    return mask


def video(n: int, *, jump_at: int | None = None) -> list[np.ndarray]:
    """A bright square moving right by 2 px a frame on grey (teleported at ``jump_at``)."""
    frames = []
    for i in range(n):
        x = 8 + 2 * i + (40 if jump_at is not None and i >= jump_at else 0)
        frame = np.full((H, W, 3), 60, np.uint8)
        frame[square(min(x, W - 24), 20)] = (220, 180, 40)
        frames.append(frame)
    return frames


class Counting:
    """A frame iterator that records how far ahead of the output the backend has read."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames, self.pulled = frames, 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame in self.frames:
            self.pulled += 1
            yield frame


def run_counting(segmenter: Any, frames: list[np.ndarray]) -> tuple[list[list[Any]], int]:
    source = Counting(frames)
    out, lookahead = [], 0
    for masks in segmenter.stream(source):
        # the consumer never runs under SAM 2's inference or autocast modes (thread-wide states)
        assert not torch.is_inference_mode_enabled() and torch.is_grad_enabled()
        out.append(masks)
        lookahead = max(lookahead, source.pulled - len(out))
    return out, lookahead


@pytest.fixture
def sam2_params(segmentation_params: dict[str, Any], sam2_checkpoint: Path) -> dict[str, Any]:
    """The ``segmentation`` parameters with SAM 2 from the random checkpoint at 128 px on CPU, fp32."""
    params = segmentation_params
    params["device"] = "cpu"
    params["sam2"].update(
        checkpoint=str(sam2_checkpoint), image_size=128, cpu_image_size=128, bf16=False
    )
    return params


@pytest.fixture
def grounded_params(sam2_params: dict[str, Any], tiny_detector_dir: Path) -> dict[str, Any]:
    params = sam2_params
    params["backend"] = "grounded_sam2"
    params["chunk_frames"] = 3
    params["grounded_sam2"].update(
        model_dir=str(tiny_detector_dir),
        box_threshold=0.0,
        text_threshold=0.0,
        max_objects=2,
        min_area=1,
    )
    return params


@pytest.fixture
def overseg_params(sam2_params: dict[str, Any]) -> dict[str, Any]:
    params = sam2_params
    params["backend"] = "sam2_oversegment"
    params["chunk_frames"] = 4
    params["sam2_oversegment"].update(
        step=3,
        points_per_side=4,
        pred_iou_thresh=0.0,
        stability_score_thresh=0.0,
        max_masks_per_key_frame=3,
        min_area=16,
    )
    return params


# --- ID assignment and association on hand-made masks -------------------------------------------


def test_iou_matrix_on_hand_made_masks() -> None:
    a, b = square(0, 0, 10), square(5, 0, 10)  # overlap 5x10 = 50, union 150
    ious = iou_matrix([a, b], [a, b, np.zeros((H, W), bool)])
    assert ious.shape == (2, 3)
    np.testing.assert_allclose(ious[:, :2], [[1, 1 / 3], [1 / 3, 1]])
    assert (ious[:, 2] == 0).all()


def test_id_assigner_keeps_ids_of_overlapping_detections_and_gives_new_ones_otherwise() -> None:
    ids = IdAssigner(iou=0.8)
    first = ids.assign([square(0, 0), square(50, 30)], {})
    assert first == [0, 1]
    tracked = {0: square(0, 0), 1: square(50, 30)}
    # detection 0 moved by 1 px (IoU 23/25 > 0.8), detection 1 far from both, detection 2 = object 1
    again = ids.assign([square(1, 0), square(30, 40, 10), square(50, 30)], tracked)
    assert again == [0, 2, 1]
    # two detections on one tracked object: the better one takes its ID, the other is new
    third = ids.assign([square(2, 0), square(0, 0)], {0: square(0, 0)})
    assert third == [3, 0]
    assert ids.assign([square(8, 0)], {0: square(0, 0)}) == [4]  # IoU 16/32 < 0.8
    with pytest.raises(ValueError, match="reid_iou"):
        IdAssigner(iou=0)


def _track(key: int, frames_masks: dict[int, np.ndarray]) -> Track:
    return Track(
        key, encode_masks({"frame": f, "object_id": 0, "mask": m} for f, m in frames_masks.items())
    )


def test_track_groups_union_find_on_hand_made_masks() -> None:
    a = _track(0, {0: square(0, 0), 1: square(1, 0), 2: square(2, 0)})
    b = _track(2, {1: square(1, 0), 2: square(2, 0), 3: square(3, 0)})  # same object as a
    c = _track(3, {3: square(3, 0), 4: square(4, 0)})  # same as b (so as a: transitive)
    d = _track(2, {2: square(50, 30), 3: square(51, 30)})  # another object
    e = _track(2, {2: square(0, 60, 3)})  # 9 px: below min_area
    assert track_groups([a, b, c, d, e], iou=0.8, min_area=16) == [[0, 1, 2], [3]]
    assert track_groups([a, d], iou=0.8) == [[0], [1]]
    assert track_groups([], iou=0.8) == []


# --- missing weights fail before any frame ------------------------------------------------------


def test_missing_checkpoint_config_and_detector_fail_at_build(
    grounded_params: dict[str, Any], tmp_path: Path
) -> None:
    params = grounded_params
    checkpoint = params["sam2"]["checkpoint"]
    params["sam2"]["checkpoint"] = None
    with pytest.raises(
        FileNotFoundError, match=r"sam2\.checkpoint is not set.*sam2\.1_hiera_tiny\.pt"
    ):
        build_segmenter({**params, "backend": "sam2_oversegment"}, "cpu")
    params["sam2"]["checkpoint"] = str(tmp_path / "nowhere.pt")
    with pytest.raises(FileNotFoundError, match=r"sam2\.checkpoint=.*nowhere\.pt.*download"):
        build_segmenter(params, "cpu")
    params["sam2"].update(checkpoint=checkpoint, config="configs/sam2.1/no_such.yaml")
    with pytest.raises(FileNotFoundError, match=r"sam2\.config="):
        build_segmenter({**params, "backend": "sam2_oversegment"}, "cpu")
    params["sam2"]["config"] = "configs/sam2.1/sam2.1_hiera_t.yaml"
    params["grounded_sam2"]["model_dir"] = None
    with pytest.raises(
        FileNotFoundError, match=r"grounded_sam2\.model_dir is not set.*grounding-dino"
    ):
        build_segmenter(params, "cpu")
    params["grounded_sam2"]["model_dir"] = str(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"grounded_sam2\.model_dir=.*config\.json"):
        build_segmenter(params, "cpu")


def test_missing_sam2_extension_is_said_once(
    overseg_params: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    if sam2_models.has_sam2_extension():
        pytest.skip("sam2._C is installed here")
    sam2_models._warned.clear()
    with caplog.at_level("WARNING", logger="actionlab.segmentation.sam2_models"):
        for _ in range(2):
            list(build_segmenter(overseg_params, "cpu").stream(video(2)))
    assert sum("sam2._C" in r.getMessage() for r in caplog.records) == 1


def test_image_size_must_be_a_multiple_of_32(overseg_params: dict[str, Any]) -> None:
    overseg_params["sam2"]["cpu_image_size"] = 100
    with pytest.raises(ValueError, match="cpu_image_size"):
        build_segmenter(overseg_params, "cpu")


# --- the real code paths with tiny random models ------------------------------------------------


def test_grounded_real_models_one_list_per_frame_bounded_lookahead(
    grounded_params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    states: list[dict[str, Any]] = []
    sizes: list[int] = []
    real_state = sam2_models.chunk_state

    def spy(model: Any, frames: Any) -> dict[str, Any]:
        state = real_state(model, frames)
        states.append(state)
        sizes.append(state["num_frames"])
        return state

    monkeypatch.setattr(sam2_models, "chunk_state", spy)
    segmenter = build_segmenter(grounded_params, "cpu")
    assert isinstance(segmenter, grounded.GroundedSam2Segmenter)
    frames = video(8, jump_at=5)
    out, lookahead = run_counting(segmenter, frames)
    assert len(out) == len(frames)  # exactly one list per frame, chunk boundaries included
    assert lookahead <= grounded_params["chunk_frames"]
    assert segmenter.detection_frames[0] == 0 and 5 in segmenter.detection_frames
    assert out[0], "the tiny detector finds boxes at threshold 0"
    for masks in out:
        assert len(masks) <= 2  # max_objects
        for item in masks:
            assert item.mask.shape == (H, W) and item.mask.dtype == bool and item.mask.any()
            assert item.label and 0 <= item.score <= 1
        assert len({m.object_id for m in masks}) == len(masks)
    detections = set(segmenter.detection_frames)
    seen: set[int] = set()
    for k, masks in enumerate(out):  # new IDs appear on detection frames only
        if k not in detections:
            assert {m.object_id for m in masks} <= seen
        seen |= {m.object_id for m in masks}
    # every tracked span's inference state: at most chunk_frames + 1 frames, released afterwards
    assert states and max(sizes) <= grounded_params["chunk_frames"] + 1
    assert all(state == {} for state in states)


def test_grounded_prompt_types_box_and_point(grounded_params: dict[str, Any]) -> None:
    for kind in ("box", "point"):
        grounded_params["grounded_sam2"]["prompt_type"] = kind
        out = list(build_segmenter(grounded_params, "cpu").stream(video(4)))
        assert len(out) == 4 and all(m.mask.shape == (H, W) for masks in out for m in masks)


def test_oversegment_real_models_one_list_per_frame_and_key_frames(
    overseg_params: dict[str, Any],
) -> None:
    segmenter = build_segmenter(overseg_params, "cpu")
    assert isinstance(segmenter, oversegment.Sam2OversegmentSegmenter)
    frames = video(11)
    out, lookahead = run_counting(segmenter, frames)
    assert len(out) == len(frames)
    assert lookahead <= overseg_params["chunk_frames"]
    assert segmenter.trace["key_frames"] == [0, 3, 6, 9]
    assert segmenter.stats()["key_frames"] == 4 and np.isnan(segmenter.stats()["out_of_time_at"])
    assert segmenter.trace["chunks"] == 3  # 4 + 4 + 3 frames
    for k in (
        0,
        3,
        6,
        9,
    ):  # automatic masks on key frames (the prompt mask is SAM 2's output there)
        assert out[k], f"key frame {k} has masks"
    for masks in out:
        assert len(masks) <= 3 + overseg_params["sam2_oversegment"]["max_tracks"]
        for item in masks:
            assert item.mask.shape == (H, W) and item.mask.sum() >= 16


def test_oversegment_time_budget_leaves_the_rest_empty(
    overseg_params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter([0.0, 0.0, 100.0, 100.0, 100.0])  # start, chunk 1 (in budget), chunk 2 (over)
    monkeypatch.setattr(oversegment, "_clock", lambda: next(clock))
    overseg_params["sam2_oversegment"]["max_seconds_per_video"] = 50
    segmenter = build_segmenter(overseg_params, "cpu")
    out = list(segmenter.stream(video(10)))
    assert len(out) == 10
    assert segmenter.trace["out_of_time_at"] == 4 and segmenter.trace["chunks"] == 1
    assert segmenter.stats()["out_of_time_at"] == 4
    assert out[0] and not any(out[4:])


# --- ID stability through the backends, with an oracle tracker ----------------------------------


def oracle_propagate(truth: list[dict[str, np.ndarray]], lag: bool = False) -> Any:
    """A stand-in for ``sam2_models.propagate``: each prompted object follows the true object
    its prompt overlaps most (or, with ``lag``, keeps its prompt mask: a tracker that never moves)."""

    def propagate(
        model: Any,
        frames: list[np.ndarray],
        prompts: dict[int, Any],
        *,
        start: int = 0,
        directions: Any = (("forward", None),),
    ) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        base = next(
            i
            for i in range(len(truth) - len(frames) + 1)
            if all(np.array_equal(f, o) for f, o in zip(frames, truth_frames[i:], strict=False))
        )
        names = {}
        for oid, prompt in prompts.items():
            here = truth[base + start]
            names[oid] = max(
                here,
                key=lambda n: (here[n] & prompt.mask).sum() / max(1, (here[n] | prompt.mask).sum()),
            )
        for direction, limit in directions:
            count = len(frames) if limit is None else limit
            step = 1 if direction == "forward" else -1
            for k in range(start, start + step * (count + 1), step):
                if 0 <= k < len(frames):
                    yield (
                        k,
                        {
                            oid: (
                                prompts[oid].mask if lag else truth[base + k].get(names[oid], empty)
                            )
                            for oid in prompts
                        },
                    )

    empty = np.zeros((H, W), bool)
    truth_frames: list[np.ndarray] = []
    propagate.truth_frames = truth_frames  # type: ignore[attr-defined]
    return propagate


def use_oracle_tracker(
    monkeypatch: pytest.MonkeyPatch,
    module: Any,
    frames: list[np.ndarray],
    truth: list[dict[str, np.ndarray]],
    lag: bool = False,
) -> None:
    """``module.propagate`` replaced by ``oracle_propagate`` over ``frames``."""
    fake = oracle_propagate(truth, lag=lag)
    fake.truth_frames.extend(frames)
    monkeypatch.setattr(module, "propagate", fake)


def scene(
    n: int,
    *,
    jump_at: int | None = None,
    jump: int = 40,
    second_from: int | None = None,
) -> tuple[list[np.ndarray], list[dict[str, np.ndarray]]]:
    """Frames and true masks: square "a" moving 1 px a frame (jumping ``jump`` px at
    ``jump_at``), and square "b" from frame ``second_from``."""
    frames, truth = [], []
    for i in range(n):
        masks = {"a": square(4 + i + (jump if jump_at is not None and i >= jump_at else 0), 10)}
        if second_from is not None and i >= second_from:
            masks["b"] = square(60, 44)
        frame = np.full((H, W, 3), 60, np.uint8)
        for mask in masks.values():
            frame[mask] = (220, 180, 40)
        frame[0, 0] = i  # every frame distinct (the oracle finds a chunk by its frames)
        frames.append(frame)
        truth.append(masks)
    return frames, truth


def oracle_grounded(
    params: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    frames: list[np.ndarray],
    truth: list[dict[str, np.ndarray]],
    lag: bool,
) -> Any:
    """The grounded backend with oracles for SAM 2's tracking (``oracle_propagate``), the
    detector (boxes of the true squares, labelled by name) and the image predictor (box masks)."""
    use_oracle_tracker(monkeypatch, grounded, frames, truth, lag)

    def detect(frame: np.ndarray, prompt: str) -> list[grounded.Detection]:
        i = next(k for k, f in enumerate(frames) if np.array_equal(f, frame))
        out = []
        for name, mask in truth[i].items():
            ys, xs = np.nonzero(mask)
            box = np.asarray([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)
            out.append(grounded.Detection(box, 0.9, name))
        return out

    def box_masks(model: Any, frame: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        masks = np.zeros((len(boxes), H, W), bool)
        for j, (x0, y0, x1, y1) in enumerate(np.asarray(boxes, int)):
            masks[j, y0:y1, x0:x1] = True
        return masks, np.ones(len(boxes))

    monkeypatch.setattr(grounded, "box_masks", box_masks)
    params["grounded_sam2"]["max_objects"] = 4
    segmenter = build_segmenter(params, "cpu")
    segmenter.detector.detect = detect  # type: ignore[method-assign]
    return segmenter


def _ids(out: list[list[Any]]) -> list[list[int]]:
    return [sorted(m.object_id for m in masks) for masks in out]


@pytest.mark.parametrize("mode", ["oracle", "lagging", "cosine"])
def test_grounded_ids_survive_redetections_and_chunks(
    grounded_params: dict[str, Any], monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    frames, truth = scene(10, jump_at=7, second_from=4) if mode != "cosine" else scene(10)
    # every frame a detection frame; or (cosine) only where the frame's mean-removed cosine with
    # the last detection frame falls below 0.5 ("a" moves 9 px in 10 frames: never)
    grounded_params["grounded_sam2"].update(cosine_threshold=0.5 if mode == "cosine" else 1.5)
    segmenter = oracle_grounded(grounded_params, monkeypatch, frames, truth, mode == "lagging")
    out = list(segmenter.stream(iter(frames)))
    ids = _ids(out)
    if mode == "cosine":  # one detection, then tracked across chunks of 3 (boundaries at 3, 6, 9)
        assert segmenter.detection_frames == [0]
        assert ids == [[0]] * 10
        assert all(np.array_equal(out[i][0].mask, truth[i]["a"]) for i in range(10))
        return
    assert segmenter.detection_frames == list(range(10))
    # "a" keeps ID 0 through the re-detections (its detection overlaps its tracked mask); "b"
    # appears at frame 4 with ID 1
    assert ids[:4] == [[0]] * 4 and ids[4:7] == [[0, 1]] * 3
    if mode == "oracle":  # the tracker follows "a" through its jump at 7: ID 0 kept
        assert ids[7:] == [[0, 1]] * 3
    else:  # a tracker stuck on "a"'s old place: the jumped detection overlaps nothing, new ID 2
        assert ids[7:] == [[0, 1, 2]] * 3
        assert np.array_equal(out[9][0].mask, truth[6]["a"])  # 0 still holds the stale mask
    labels = {m.object_id: m.label for masks in out for m in masks}
    assert labels[0] == "a" and labels[1] == "b"
    # the jumped detection overlaps nothing tracked: a new object, not an ID switch
    assert segmenter.stats() == {"detection_frames": 10.0, "id_switches": 0.0}


@pytest.mark.parametrize("mode", ["oracle", "lagging"])
def test_grounded_counts_id_switches(
    grounded_params: dict[str, Any], monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """"a" jumps 9 px at frame 7 (IoU 0.45 with where it was): a tracker that follows it keeps
    its ID; one stuck on its old place gives the re-detection a new ID that overlaps the stale
    track, which counts as one ID switch, and the stale track (62% under the new detection)
    ends there instead of lingering as a duplicate."""
    frames, truth = scene(10, jump_at=7, jump=8)
    grounded_params["grounded_sam2"].update(cosine_threshold=1.5)  # detect on every frame
    segmenter = oracle_grounded(grounded_params, monkeypatch, frames, truth, mode == "lagging")
    ids = _ids(list(segmenter.stream(iter(frames))))
    if mode == "oracle":
        assert ids == [[0]] * 10 and segmenter.stats()["id_switches"] == 0
    else:
        assert ids[:7] == [[0]] * 7 and ids[7:] == [[1]] * 3
        assert segmenter.stats()["id_switches"] == 1


def test_oversegment_ids_cross_chunks_and_key_frames(
    overseg_params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    frames, truth = scene(14, second_from=5)
    use_oracle_tracker(monkeypatch, oversegment, frames, truth)
    small = square(0, 60, 3)  # 9 px: under min_area

    def key_masks(self: Any, frame: np.ndarray) -> list[np.ndarray]:
        i = next(k for k, f in enumerate(frames) if np.array_equal(f, frame))
        return [m for m in [*truth[i].values(), small] if m.sum() >= self.min_area]

    monkeypatch.setattr(oversegment.Sam2OversegmentSegmenter, "key_masks", key_masks)
    segmenter = build_segmenter(overseg_params, "cpu")  # chunks of 4, key frames every 3
    out = list(segmenter.stream(iter(frames)))
    assert len(out) == 14 and segmenter.trace["key_frames"] == [0, 3, 6, 9, 12]
    ids = _ids(out)
    # "a" is ID 0 everywhere; "b" appears at 5, found by the key frame 6 and tracked back to 5
    assert ids[:5] == [[0]] * 5 and ids[5:] == [[0, 1]] * 9
    for i, masks in enumerate(out):
        for item in masks:
            expected = truth[i]["a" if item.object_id == 0 else "b"]
            assert np.array_equal(item.mask, expected)


def test_oversegment_max_tracks_caps_carried_objects(
    overseg_params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    frames, truth = scene(8, second_from=0)
    use_oracle_tracker(monkeypatch, oversegment, frames, truth)
    monkeypatch.setattr(
        oversegment.Sam2OversegmentSegmenter,
        "key_masks",
        lambda self, frame: [
            m for i, f in enumerate(frames) if np.array_equal(f, frame) for m in truth[i].values()
        ],
    )
    overseg_params["sam2_oversegment"].update(
        step=100, max_tracks=1
    )  # one key frame; one object carried
    out = list(build_segmenter(overseg_params, "cpu").stream(iter(frames)))
    assert _ids(out)[:4] == [[0, 1]] * 4 and _ids(out)[4:] == [[0]] * 4


def test_box_masks_in_batches_and_box_nms(overseg_params: dict[str, Any]) -> None:
    model = sam2_models.load_sam2(overseg_params["sam2"], "cpu")
    frame = video(1)[0]
    boxes = np.asarray([[4 + i, 4, 40 + i, 40] for i in range(20)], np.float32)
    masks, scores = sam2_models.box_masks(model, frame, boxes, batch=16)  # batches of 16 and 4
    assert masks.shape == (20, H, W) and masks.dtype == bool and scores.shape == (20,)
    one, _ = sam2_models.box_masks(model, frame, boxes[17:18])
    np.testing.assert_array_equal(one[0], masks[17])  # a box's mask does not depend on its batch
    found = [grounded.Detection(b, 1.0 - i / 100, "a") for i, b in enumerate(boxes)]
    found.append(grounded.Detection(np.asarray([60, 40, 90, 70], np.float32), 0.5, "b"))
    kept = grounded._box_nms(found, 0.8)
    assert [d.label for d in kept] == ["a"] * len(kept[:-1]) + ["b"] and 1 < len(kept) < 21


def test_random_checkpoint_loads_through_the_checkpoint_path_at_a_reduced_size(
    sam2_params: dict[str, Any], sam2_checkpoint: Path, tmp_path: Path
) -> None:
    saved = torch.load(sam2_checkpoint, map_location="cpu", weights_only=True)["model"]
    model = sam2_models.load_sam2(sam2_params["sam2"], "cpu")  # built at 128 px, saved at 1024
    assert model.image_size == 128
    loaded = model.predictor.state_dict()
    assert loaded.keys() == saved.keys()
    assert all(torch.equal(loaded[k], saved[k]) for k in saved)  # the file's weights, not an init
    wrong = tmp_path / "wrong.pt"
    torch.save({"model": {"not_sam2.weight": torch.zeros(1)}}, wrong)
    sam2_params["sam2"]["checkpoint"] = str(wrong)
    with pytest.raises(ValueError, match=r"does not fit sam2\.config.*missing.*unexpected"):
        sam2_models.load_sam2(sam2_params["sam2"], "cpu")


def test_models_are_reused_until_a_setting_or_weight_file_changes(
    grounded_params: dict[str, Any], sam2_checkpoint: Path, tmp_path: Path
) -> None:
    """One video's item after another loads SAM 2 and the detector once per process; a new image
    size, a replaced checkpoint or a replaced detector file loads them again."""
    checkpoint = tmp_path / "sam2.pt"
    shutil.copy(sam2_checkpoint, checkpoint)
    detector = tmp_path / "detector"
    shutil.copytree(grounded_params["grounded_sam2"]["model_dir"], detector)
    grounded_params["sam2"]["checkpoint"] = str(checkpoint)
    grounded_params["grounded_sam2"]["model_dir"] = str(detector)
    first = build_segmenter(grounded_params, "cpu")
    again = build_segmenter(grounded_params, "cpu")
    assert again.sam2.predictor is first.sam2.predictor
    assert again.detector.model is first.detector.model
    first.close()  # closing a segmenter does not unload what the next one reuses
    assert build_segmenter(grounded_params, "cpu").sam2.predictor is again.sam2.predictor

    grounded_params["sam2"]["cpu_image_size"] = 96
    smaller = build_segmenter(grounded_params, "cpu")
    assert smaller.sam2.predictor is not again.sam2.predictor and smaller.sam2.image_size == 96
    assert smaller.detector.model is again.detector.model

    torch.save({"model": smaller.sam2.predictor.state_dict()}, checkpoint)  # replaced in place
    assert build_segmenter(grounded_params, "cpu").sam2.predictor is not smaller.sam2.predictor
    config = detector / "config.json"
    os.utime(config, ns=(config.stat().st_atime_ns, config.stat().st_mtime_ns + 10**9))
    assert build_segmenter(grounded_params, "cpu").detector.model is not smaller.detector.model


def test_detector_size_sets_grounding_dinos_input_and_boxes_stay_in_frame_pixels(
    grounded_params: dict[str, Any],
) -> None:
    segmenter = build_segmenter(grounded_params, "cpu")
    seen: list[tuple[int, ...]] = []
    model = segmenter.detector.model
    hook = model.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(tuple(kwargs["pixel_values"].shape)), with_kwargs=True
    )
    try:
        frame = video(1)[0]  # 72 x 96
        default = segmenter.detector.detect(frame, "person.")
        segmenter.detector.size = {"shortest_edge": 64, "longest_edge": 106}
        small = segmenter.detector.detect(frame, "person.")
    finally:
        hook.remove()
    # the processor's own size (its long side capped at 128 for the tiny one), then short side 64
    assert seen == [(1, 3, 96, 128), (1, 3, 64, 85)]
    for found in (default, small):
        assert found and all(0 <= d.box[0] <= d.box[2] <= W and 0 <= d.box[1] <= d.box[3] <= H for d in found)
    grounded_params["grounded_sam2"]["detector_size"] = 16
    with pytest.raises(ValueError, match=r"grounded_sam2\.detector_size=16"):
        build_segmenter(grounded_params, "cpu")
    grounded_params["grounded_sam2"]["detector_size"] = 64
    assert build_segmenter(grounded_params, "cpu").detector.size == {"shortest_edge": 64, "longest_edge": 106}


@pytest.mark.parametrize(("threshold", "every", "expected"), [
    (0.5, None, [0]),  # the square's 1 px steps never drop the mean-removed cosine below 0.5
    (0.5, 4, [0, 4, 8]),  # ... but redetect_every forces a detection every 4 frames
    (0.9, None, [0, 3, 6, 9]),  # at 0.9 a 3 px shift of the square is a new scene
])  # fmt: skip
def test_detection_frames_from_cosine_sampling_and_redetect_every(
    grounded_params: dict[str, Any], monkeypatch: pytest.MonkeyPatch, threshold: float,
    every: int | None, expected: list[int],
) -> None:  # fmt: skip
    frames, truth = scene(10)
    grounded_params["grounded_sam2"].update(cosine_threshold=threshold, redetect_every=every)
    segmenter = oracle_grounded(grounded_params, monkeypatch, frames, truth, lag=False)
    assert _ids(list(segmenter.stream(iter(frames)))) == [[0]] * 10
    assert segmenter.detection_frames == expected
    grounded_params["grounded_sam2"]["redetect_every"] = 0
    with pytest.raises(ValueError, match=r"grounded_sam2\.redetect_every=0"):
        build_segmenter(grounded_params, "cpu")
