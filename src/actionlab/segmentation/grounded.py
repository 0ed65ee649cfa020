"""The ``grounded_sam2`` backend: text-prompted objects found by Grounding DINO and tracked by
SAM 2 (no kedro).

Detection runs on the frames cosine-similarity sampling keeps (``CosineSelector``: a frame that
differs enough from the last kept one); SAM 2's image predictor turns the boxes into masks; the
objects are registered with SAM 2's video predictor (``prompt_type``: box, mask or point) and
tracked until the next detection frame. A new detection takes the ID of the tracked mask it
overlaps with IoU >= ``reid_iou`` (``actionlab.segmentation.ids``), else a new ID.

Memory: frames are tracked in spans of at most ``chunk_frames`` new frames (a span also ends at a
detection frame), each from an inference state built on the in-memory span; the span's first frame
is the previous span's last, whose masks are the objects' prompts, so IDs cross span boundaries
and peak memory does not depend on the video's length.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from actionlab.keys import weights_signature
from actionlab.runtime import resolve_device
from actionlab.segmentation.base import ObjectMask, Segmenter
from actionlab.segmentation.ids import IdAssigner, iou_matrix
from actionlab.segmentation.sam2_models import (
    PROMPT_TYPES,
    Prompt,
    Sam2Model,
    box_masks,
    load_sam2,
    propagate,
    reuse_model,
)
from actionlab.video.sampling import CosineSelector

logger = logging.getLogger(__name__)

DETECTOR_HINT = (
    "a Grounding DINO saved with save_pretrained (model and processor), e.g. "
    "IDEA-Research/grounding-dino-tiny from the Hugging Face hub"
)


def normalise_prompt(text: str) -> str:
    """Grounding DINO's prompt form: lower case, each phrase ending with a period."""
    phrases = [p.strip().lower() for p in str(text).split(".") if p.strip()]
    if not phrases:
        raise ValueError(
            f"grounded_sam2.prompt: expected text phrases such as 'person.', got {text!r}"
        )
    return " ".join(f"{p}." for p in phrases)


@dataclass
class Detection:
    """One Grounding DINO detection: ``box`` (x0, y0, x1, y1 pixels), ``score``, ``label`` phrase."""

    box: np.ndarray
    score: float
    label: str


class GroundingDino:
    """Grounding DINO from a local folder (``AutoModelForZeroShotObjectDetection`` and
    ``AutoProcessor``, ``local_files_only=True``)."""

    def __init__(
        self,
        *,
        model_dir: str | Path,
        device: torch.device,
        box_threshold: float,
        text_threshold: float,
        size: int | None = None,
    ) -> None:
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 32):
            raise ValueError(
                f"grounded_sam2.detector_size={size!r}: expected an int >= 32 (px) or null (the "
                "processor's own size, 800)"
            )
        #: the detector's input size (shortest edge; the long side at most 5/3 of it) or None
        self.size = None if size is None else {"shortest_edge": size, "longest_edge": size * 5 // 3}

        def load() -> tuple[Any, Any]:
            processor = AutoProcessor.from_pretrained(str(model_dir), local_files_only=True)
            model = AutoModelForZeroShotObjectDetection.from_pretrained(
                str(model_dir), local_files_only=True
            )
            return processor, model.to(device).eval()

        self.device = device
        self.box_threshold = float(box_threshold)
        self.text_threshold = float(text_threshold)
        key = (weights_signature(model_dir), str(device))
        self.processor, self.model = reuse_model("grounding_dino", key, load)
        #: tokens the label phrases drop (the post-processing keeps any above text_threshold)
        self.special = frozenset(self.processor.tokenizer.all_special_tokens)

    @staticmethod
    def check_dir(model_dir: str | Path | None) -> Path:
        """The folder of ``grounded_sam2.model_dir``; a missing one is an error naming the
        parameter and what to download."""
        if model_dir in (None, ""):
            raise FileNotFoundError(
                f"grounded_sam2.model_dir is not set: set it to the local folder of {DETECTOR_HINT}."
            )
        path = Path(str(model_dir)).expanduser()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"grounded_sam2.model_dir={str(model_dir)!r} has no config.json: set it to the "
                f"local folder of {DETECTOR_HINT}."
            )
        return path

    @torch.inference_mode()
    def detect(self, frame: np.ndarray, prompt: str) -> list[Detection]:
        """Detections of ``prompt`` on one (H, W, 3) uint8 RGB frame, best first."""
        height, width = frame.shape[:2]
        sizes = {} if self.size is None else {"size": self.size}
        inputs = self.processor(images=frame, text=prompt, return_tensors="pt", **sizes)
        inputs = inputs.to(self.device)
        outputs = self.model(**inputs)
        result = self.processor.post_process_grounded_object_detection(
            outputs,
            inputs["input_ids"],
            threshold=self.box_threshold,
            text_threshold=self.text_threshold,
            target_sizes=[(height, width)],
        )[0]
        boxes = result["boxes"].float().cpu().numpy().reshape(-1, 4)
        boxes = np.clip(boxes, 0, [width, height, width, height])
        scores = result["scores"].float().cpu().numpy()
        labels = result["text_labels"] if "text_labels" in result else result["labels"]
        order = np.argsort(-scores, kind="stable")
        return [Detection(boxes[i], float(scores[i]), self._phrase(labels[i])) for i in order]

    def _phrase(self, label: Any) -> str:
        """A label phrase without the tokenizer's special tokens (the end-of-text ``[SEP]``)."""
        return " ".join(w for w in str(label).split() if w not in self.special)


def _box_nms(found: list[Detection], iou: float) -> list[Detection]:
    """``found`` (best first) without the boxes that overlap a better one with IoU >= ``iou``."""
    if len(found) < 2:
        return found
    from torchvision.ops import nms

    boxes = torch.as_tensor(np.stack([d.box for d in found]), dtype=torch.float32)
    scores = torch.as_tensor([d.score for d in found], dtype=torch.float32)
    keep = sorted(int(i) for i in nms(boxes, scores, float(iou)))
    return [found[i] for i in keep]


@dataclass
class _Object:
    """An object being tracked: its mask on the current frame, how it is prompted on that frame,
    its label and the score of its last detection."""

    mask: np.ndarray
    prompt: Prompt
    label: str
    score: float


class GroundedSam2Segmenter(Segmenter):
    """Text-prompted objects: Grounding DINO on cosine-sampled frames, SAM 2 masks and tracking,
    IDs kept across re-detections."""

    name = "grounded_sam2"

    def __init__(
        self,
        *,
        sam2: Sam2Model,
        detector: GroundingDino,
        prompt: str,
        prompt_type: str,
        cosine_threshold: float,
        cosine_size: int,
        redetect_every: int | None,
        reid_iou: float,
        max_objects: int,
        min_area: int,
        chunk_frames: int,
    ) -> None:
        if prompt_type not in PROMPT_TYPES:
            raise ValueError(
                f"grounded_sam2.prompt_type={prompt_type!r}: expected one of {', '.join(PROMPT_TYPES)}"
            )
        if int(chunk_frames) < 1:
            raise ValueError(f"segmentation.chunk_frames: expected an int >= 1, got {chunk_frames}")
        if redetect_every is not None and (isinstance(redetect_every, bool) or int(redetect_every) < 1):
            raise ValueError(
                f"grounded_sam2.redetect_every={redetect_every!r}: expected an int >= 1 (frames) or null"
            )
        self.redetect_every = None if redetect_every is None else int(redetect_every)
        self.sam2 = sam2
        self.detector = detector
        self.prompt = normalise_prompt(prompt)
        self.prompt_type = prompt_type
        self.cosine_threshold = float(cosine_threshold)
        self.cosine_size = int(cosine_size)
        self.reid_iou = float(reid_iou)
        IdAssigner(iou=self.reid_iou)  # validates reid_iou now, before any frame
        self.max_objects = int(max_objects)
        self.min_area = int(min_area)
        self.chunk_frames = int(chunk_frames)
        #: detection frames (stream indices) of the last stream, for reports and tests
        self.detection_frames: list[int] = []
        #: re-detections of the last stream that took a new ID while overlapping a tracked object
        self.id_switches = 0

    @classmethod
    def from_params(cls, params: Mapping[str, Any], device: str = "auto") -> GroundedSam2Segmenter:
        """Build from the ``segmentation`` parameters; missing weights fail here."""
        own = params["grounded_sam2"]
        model_dir = GroundingDino.check_dir(own["model_dir"])
        dev = resolve_device(device)
        sam2 = load_sam2(params["sam2"], dev)
        detector = GroundingDino(
            model_dir=model_dir,
            device=dev,
            box_threshold=own["box_threshold"],
            text_threshold=own["text_threshold"],
            size=own["detector_size"],
        )
        return cls(
            sam2=sam2,
            detector=detector,
            prompt=own["prompt"],
            prompt_type=own["prompt_type"],
            cosine_threshold=own["cosine_threshold"],
            cosine_size=own["cosine_size"],
            redetect_every=own["redetect_every"],
            reid_iou=own["reid_iou"],
            max_objects=own["max_objects"],
            min_area=own["min_area"],
            chunk_frames=params["chunk_frames"],
        )

    def _small(self, frame: np.ndarray) -> np.ndarray:
        """The frame as cosine sampling compares it: small, and its mean removed (the cosine of
        raw pixels, all positive, stays near 1 between very different frames)."""
        small = cv2.resize(frame, (self.cosine_size, self.cosine_size), interpolation=cv2.INTER_AREA)
        small = small.astype(np.float32)
        return small - small.mean()

    def stream(self, frames: Iterable[np.ndarray]) -> Iterator[list[ObjectMask]]:
        selector = CosineSelector(self.cosine_threshold)
        ids = IdAssigner(iou=self.reid_iou)
        self.detection_frames = []
        self.id_switches = 0
        carry: tuple[np.ndarray, dict[int, _Object]] | None = None
        pending: list[np.ndarray] = []
        index = 0
        for item in frames:
            frame = np.asarray(item)
            detect = selector.offer(self._small(frame))
            last = self.detection_frames[-1] if self.detection_frames else 0
            detect = detect or (self.redetect_every is not None and index - last >= self.redetect_every)
            if detect:
                self.detection_frames.append(index)
            index += 1
            pending.append(frame)
            if detect or len(pending) >= self.chunk_frames:
                carry = yield from self._advance(carry, pending, detect, ids)
                pending = []
        if pending:
            yield from self._advance(carry, pending, False, ids)

    def _advance(
        self,
        carry: tuple[np.ndarray, dict[int, _Object]] | None,
        new: Sequence[np.ndarray],
        detect_last: bool,
        ids: IdAssigner,
    ) -> Iterator[list[ObjectMask]]:
        """Track the carried objects over ``new`` frames (from the carried frame), yield their
        lists (the last one after detection when ``detect_last``) and return the new carry."""
        objects = carry[1] if carry else {}
        tracked: dict[int, np.ndarray] = {}
        if objects:
            span = [carry[0], *new]
            prompts = {oid: obj.prompt for oid, obj in objects.items()}
            for k, masks in propagate(self.sam2, span, prompts):
                if k == 0:
                    continue
                tracked = {
                    oid: m for oid, m in masks.items() if int(m.sum()) >= max(self.min_area, 1)
                }
                if k < len(span) - 1 or not detect_last:
                    yield [
                        ObjectMask(oid, m, objects[oid].label, objects[oid].score)
                        for oid, m in sorted(tracked.items())
                    ]
        else:
            for _ in new[: len(new) - 1 if detect_last else len(new)]:
                yield []
        if detect_last:
            current = self._redetect(new[-1], tracked, objects, ids)
        else:
            current = {
                oid: _Object(m, Prompt("mask", m), objects[oid].label, objects[oid].score)
                for oid, m in tracked.items()
            }
        if detect_last:
            yield [
                ObjectMask(oid, obj.mask, obj.label, obj.score)
                for oid, obj in sorted(current.items())
            ]
        return new[-1], current

    def _redetect(
        self,
        frame: np.ndarray,
        tracked: Mapping[int, np.ndarray],
        previous: Mapping[int, _Object],
        ids: IdAssigner,
    ) -> dict[int, _Object]:
        """A detection frame's objects: new detections (with matched or new IDs) and the tracked
        objects no detection matched or covers for the most part."""
        found = _box_nms(self.detector.detect(frame, self.prompt), self.reid_iou)
        found = found[: 2 * self.max_objects]  # masks for a few more than kept: some are dropped
        masks, _ = box_masks(
            self.sam2, frame, np.asarray([d.box for d in found], np.float32).reshape(-1, 4)
        )
        keep: list[int] = []
        for i, mask in enumerate(masks):  # best first: drop small masks and duplicates of kept ones
            if int(mask.sum()) < max(self.min_area, 1):
                continue
            if keep and iou_matrix([mask], [masks[j] for j in keep]).max() >= self.reid_iou:
                continue
            keep.append(i)
        keep = keep[: self.max_objects]
        assigned = ids.assign([masks[i] for i in keep], tracked)
        if tracked:  # a new ID where the detection overlaps a tracked object: an ID switch
            overlaps = iou_matrix([masks[i] for i in keep], list(tracked.values()))
            self.id_switches += sum(
                1 for j, oid in enumerate(assigned) if oid not in tracked and overlaps[j].max() > 0
            )
        current: dict[int, _Object] = {}
        for i, oid in zip(keep, assigned, strict=True):
            prompt = Prompt(self.prompt_type, masks[i], found[i].box)
            current[oid] = _Object(masks[i], prompt, found[i].label, found[i].score)
        detected = np.zeros(frame.shape[:2], bool)
        for obj in current.values():
            detected |= obj.mask
        for oid, mask in tracked.items():  # tracked objects no detection matched go on, unless
            # a detection (with a new ID) covers most of them: then they were re-detected as it
            if oid in current or (mask & detected).sum() > 0.5 * mask.sum():
                continue
            if len(current) < self.max_objects:
                current[oid] = _Object(
                    mask, Prompt("mask", mask), previous[oid].label, previous[oid].score
                )
        return current

    def stats(self) -> dict[str, float]:
        """Detection frames, and ID switches: re-detections that overlap a tracked object (IoU
        above 0) but not by ``reid_iou``, so they took a new ID where the object likely had one."""
        return {
            "detection_frames": float(len(self.detection_frames)),
            "id_switches": float(self.id_switches),
        }

    def close(self) -> None:
        self.detector = None  # type: ignore[assignment]
        self.sam2 = None  # type: ignore[assignment]
