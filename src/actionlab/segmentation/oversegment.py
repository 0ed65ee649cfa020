"""The ``sam2_oversegment`` backend: every object of the video with SAM 2 alone (no kedro).

On key frames (every ``step`` frames) ``SAM2AutomaticMaskGenerator`` finds masks from a point
grid; each mask is tracked by SAM 2's video predictor forward to the next key frame and backward
to the previous one; tracks that overlap on their shared frames with mean IoU >= ``iou`` are one
object (union-find, ``actionlab.segmentation.tracks``), and on each frame an object shows the mask
of its track with the nearest key frame.

Memory: frames are processed in chunks of ``chunk_frames`` new frames; a chunk starts with the
previous chunk's last frame, whose objects' masks are tracked forward as tracks that keep their
IDs, so objects cross chunk boundaries and peak memory does not grow with the video.
Budgets: masks and tracks under ``min_area`` pixels are dropped, at most
``max_masks_per_key_frame`` masks per key frame and ``max_tracks`` objects carried across chunks
(largest first), and past ``max_seconds_per_video`` the remaining frames get no masks (logged).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from actionlab.runtime import resolve_device
from actionlab.segmentation.base import ObjectMask, Segmenter
from actionlab.segmentation.masks import decode_masks, encode_masks
from actionlab.segmentation.sam2_models import (
    Prompt,
    Sam2Model,
    autocast,
    image_predictor,
    load_sam2,
    propagate,
)
from actionlab.segmentation.tracks import Track, track_groups

logger = logging.getLogger(__name__)

_clock = time.monotonic  # the time budget's clock (tests replace it)


class Sam2OversegmentSegmenter(Segmenter):
    """Full-video over-segmentation: automatic masks on key frames, tracked both ways, associated
    by IoU into objects with stable IDs."""

    name = "sam2_oversegment"

    def __init__(
        self,
        *,
        sam2: Sam2Model,
        step: int,
        points_per_side: int,
        points_per_batch: int,
        pred_iou_thresh: float,
        stability_score_thresh: float,
        max_masks_per_key_frame: int,
        iou: float,
        min_area: int,
        max_tracks: int,
        max_seconds_per_video: float | None,
        chunk_frames: int,
    ) -> None:
        from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

        for name, value in (
            ("step", step),
            ("points_per_side", points_per_side),
            ("max_masks_per_key_frame", max_masks_per_key_frame),
            ("max_tracks", max_tracks),
        ):
            if int(value) < 1:
                raise ValueError(f"sam2_oversegment.{name}: expected an int >= 1, got {value}")
        if int(chunk_frames) < 1:
            raise ValueError(f"segmentation.chunk_frames: expected an int >= 1, got {chunk_frames}")
        if not 0 < float(iou) <= 1:
            raise ValueError(f"sam2_oversegment.iou: expected a number in (0, 1], got {iou}")
        self.sam2 = sam2
        self.step = int(step)
        self.max_masks = int(max_masks_per_key_frame)
        self.iou = float(iou)
        self.min_area = int(min_area)
        self.max_tracks = int(max_tracks)
        self.max_seconds = None if max_seconds_per_video is None else float(max_seconds_per_video)
        self.chunk_frames = int(chunk_frames)
        # min_mask_region_area=0: SAM 2's own small-region removal needs sam2._C; min_area filters instead
        self.generator = SAM2AutomaticMaskGenerator(
            sam2.predictor,
            points_per_side=int(points_per_side),
            points_per_batch=int(points_per_batch),
            pred_iou_thresh=float(pred_iou_thresh),
            stability_score_thresh=float(stability_score_thresh),
            min_mask_region_area=0,
            output_mode="binary_mask",
        )
        image_predictor(sam2, self.generator.predictor)
        #: what the last stream did: key frames segmented, chunks, where the time budget ran out
        self.trace: dict[str, Any] = {}

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], device: str = "auto"
    ) -> Sam2OversegmentSegmenter:
        """Build from the ``segmentation`` parameters; missing weights fail here."""
        own = params["sam2_oversegment"]
        sam2 = load_sam2(params["sam2"], resolve_device(device))
        return cls(
            sam2=sam2,
            step=own["step"],
            points_per_side=own["points_per_side"],
            points_per_batch=own["points_per_batch"],
            pred_iou_thresh=own["pred_iou_thresh"],
            stability_score_thresh=own["stability_score_thresh"],
            max_masks_per_key_frame=own["max_masks_per_key_frame"],
            iou=own["iou"],
            min_area=own["min_area"],
            max_tracks=own["max_tracks"],
            max_seconds_per_video=own["max_seconds_per_video"],
            chunk_frames=params["chunk_frames"],
        )

    def stats(self) -> dict[str, float]:
        """Key frames segmented and the frame from which the time budget left frames without
        masks (NaN: it never ran out)."""
        stop = self.trace.get("out_of_time_at")
        return {
            "key_frames": float(len(self.trace.get("key_frames", []))),
            "out_of_time_at": float("nan") if stop is None else float(stop),
        }

    def close(self) -> None:
        self.generator = None  # type: ignore[assignment]
        self.sam2 = None  # type: ignore[assignment]

    def key_masks(self, frame: np.ndarray) -> list[np.ndarray]:
        """The automatic masks of one key frame at least ``min_area`` pixels large, at most
        ``max_masks_per_key_frame`` of them, highest predicted IoU first."""
        with torch.inference_mode(), autocast(self.sam2):
            records = self.generator.generate(np.ascontiguousarray(frame))
        records = [r for r in records if int(r["area"]) >= self.min_area]
        records.sort(key=lambda r: -float(r["predicted_iou"]))
        return [np.asarray(r["segmentation"], bool) for r in records[: self.max_masks]]

    def stream(self, frames: Iterable[np.ndarray]) -> Iterator[list[ObjectMask]]:
        start = _clock()
        self.trace = {"key_frames": [], "chunks": 0, "out_of_time_at": None}
        carry: tuple[np.ndarray, dict[int, np.ndarray]] | None = None
        next_id = [0]
        pending: list[np.ndarray] = []
        first = 0  # stream index of pending[0]
        for frame in frames:
            pending.append(np.asarray(frame))
            if len(pending) < self.chunk_frames:
                continue
            carry = yield from self._chunk_or_skip(carry, pending, first, next_id, start)
            first += len(pending)
            pending = []
        if pending:
            yield from self._chunk_or_skip(carry, pending, first, next_id, start)

    def _chunk_or_skip(
        self,
        carry: tuple[np.ndarray, dict[int, np.ndarray]] | None,
        new: Sequence[np.ndarray],
        first: int,
        next_id: list[int],
        start: float,
    ) -> Iterator[list[ObjectMask]]:
        if self.max_seconds is not None and _clock() - start > self.max_seconds:
            if self.trace["out_of_time_at"] is None:
                self.trace["out_of_time_at"] = first
                logger.warning(
                    "sam2_oversegment.max_seconds_per_video=%s spent: frames from %d on get no masks",
                    self.max_seconds,
                    first,
                )
            for _ in new:
                yield []
            return None
        self.trace["chunks"] += 1
        return (yield from self._chunk(carry, new, first, next_id))

    def _chunk(
        self,
        carry: tuple[np.ndarray, dict[int, np.ndarray]] | None,
        new: Sequence[np.ndarray],
        first: int,
        next_id: list[int],
    ) -> Iterator[list[ObjectMask]]:
        """Segment one chunk: ``new`` frames (stream indices ``first``...) after the carried frame
        and its objects; yield one list per new frame and return the new carry."""
        carried = dict(carry[1]) if carry else {}
        chunk = [carry[0], *new] if carry else list(new)
        offset = first - (1 if carry else 0)  # stream index of chunk[0]
        keys = [j for j in range(1 if carry else 0, len(chunk)) if (offset + j) % self.step == 0]
        tracks: list[Track] = []
        owner: dict[int, int] = {}  # track index -> carried object id
        if carried:  # the carried objects, forward to the first key frame (or the chunk's end)
            reach = keys[0] if keys else len(chunk) - 1
            rows = self._track(
                chunk,
                {oid: Prompt("mask", m) for oid, m in carried.items()},
                0,
                (("forward", reach),),
                offset,
            )
            for oid in carried:
                owner[len(tracks)] = oid
                tracks.append(Track(key_frame=offset, masks=encode_masks(rows.get(oid, []))))
        for j, k in enumerate(keys):
            self.trace["key_frames"].append(offset + k)
            masks = self.key_masks(chunk[k])
            if not masks:
                continue
            lo = keys[j - 1] if j else 0
            hi = keys[j + 1] if j + 1 < len(keys) else len(chunk) - 1
            rows = self._track(
                chunk,
                {i: Prompt("mask", m) for i, m in enumerate(masks)},
                k,
                (("forward", hi - k), ("backward", k - lo)),
                offset,
            )
            tracks.extend(
                Track(key_frame=offset + k, masks=encode_masks(rows.get(i, [])))
                for i in range(len(masks))
            )
        groups = track_groups(tracks, iou=self.iou, min_area=self.min_area)
        per_frame: list[dict[int, np.ndarray]] = [{} for _ in chunk]
        for members in groups:
            ids = sorted(owner[m] for m in members if m in owner)
            oid = ids[0] if ids else _take(next_id)
            best: dict[int, tuple[int, int]] = {}  # chunk frame -> (distance to key frame, track)
            for m in members:
                for f in tracks[m].masks["frame"]:
                    d = abs(int(f) - tracks[m].key_frame)
                    if int(f) - offset not in best or d < best[int(f) - offset][0]:
                        best[int(f) - offset] = (d, m)
            for local, (_, m) in best.items():
                table = tracks[m].by_frame().loc[[offset + local]]
                per_frame[local][oid] = decode_masks(table)[0]
        for local in range(1 if carry else 0, len(chunk)):
            yield [ObjectMask(oid, mask) for oid, mask in sorted(per_frame[local].items())]
        last = per_frame[-1]
        largest = sorted(last, key=lambda oid: -int(last[oid].sum()))[: self.max_tracks]
        del tracks, per_frame
        return chunk[-1], {
            oid: last[oid] for oid in largest if int(last[oid].sum()) >= self.min_area
        }

    def _track(
        self,
        chunk: Sequence[np.ndarray],
        prompts: Mapping[int, Prompt],
        start: int,
        directions: Sequence[tuple[str, int]],
        offset: int,
    ) -> dict[int, list[dict[str, Any]]]:
        """Mask-table items (stream frame indices) per prompted object tracked from chunk frame
        ``start`` in ``directions`` (each with its frame count); masks under ``min_area`` are left
        out."""
        rows: dict[int, list[dict[str, Any]]] = {oid: [] for oid in prompts}
        seen: set[tuple[int, int]] = set()
        directions = [(d, n) for d, n in directions if n > 0] or [("forward", 0)]
        for index, masks in propagate(
            self.sam2, chunk, prompts, start=start, directions=directions
        ):
            for oid, mask in masks.items():
                if (index, oid) in seen or int(mask.sum()) < max(self.min_area, 1):
                    continue
                seen.add((index, oid))
                rows[oid].append({"frame": offset + index, "object_id": oid, "mask": mask})
        return rows


def _take(counter: list[int]) -> int:
    counter[0] += 1
    return counter[0] - 1
