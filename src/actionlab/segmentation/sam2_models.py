"""SAM 2 shared by the ``grounded_sam2`` and ``sam2_oversegment`` backends (no kedro).

* :func:`load_sam2` builds one ``SAM2VideoPredictor`` from a packaged config (or a YAML file)
  and a checkpoint (``{"model": state_dict}``), with hydra overrides for a reduced internal
  image size (the memory attention's RoPE feature sizes follow it), on the device of the
  ``segmentation.device`` parameter. The same model also serves the image predictor and the
  automatic mask generator.
* :func:`chunk_state` builds the video predictor's inference state from an in-memory list of
  frames (SAM 2's own ``init_state`` reads a whole video from disk and keeps every frame), and
  :func:`propagate` runs the predictor over such a chunk from mask, box or point prompts.
* :func:`autocast` is the bf16 autocast context of the ``sam2.bf16`` parameter.

Hole filling in SAM 2 needs its compiled ``sam2._C`` extension; without it hole filling is
switched off (one logged warning per process) instead of SAM 2 warning on every frame.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from actionlab.keys import weights_signature
from actionlab.runtime import resolve_device

logger = logging.getLogger(__name__)

#: where the SAM 2.1 checkpoints are published (named in the missing-checkpoint error)
CHECKPOINT_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"
IMG_MEAN = np.asarray([0.485, 0.456, 0.406], np.float32)
IMG_STD = np.asarray([0.229, 0.224, 0.225], np.float32)
PROMPT_TYPES = ("box", "mask", "point")

_warned: set[str] = set()  # warnings already logged in this process


def has_sam2_extension() -> bool:
    """Whether SAM 2's compiled ``sam2._C`` extension (hole filling) is importable."""
    try:
        from sam2 import _C  # noqa: F401
    except ImportError:
        return False
    return True


def _warn_no_extension_once() -> None:
    if "no _C" not in _warned:
        _warned.add("no _C")
        logger.warning(
            "sam2._C (SAM 2's compiled extension) is not installed: small holes in SAM 2 "
            "masks are not filled (the masks are otherwise the same)."
        )


def resolve_config(config: str) -> Path:
    """The YAML file of ``sam2.config``: a file path, or a config packaged with ``sam2``
    (e.g. ``configs/sam2.1/sam2.1_hiera_t.yaml``)."""
    path = Path(str(config)).expanduser()
    if path.is_file():
        return path
    packaged = Path(str(resources.files("sam2") / str(config)))
    if packaged.is_file():
        return packaged
    raise FileNotFoundError(
        f"sam2.config={config!r}: no such file, nor a config packaged with sam2 (e.g. "
        "'configs/sam2.1/sam2.1_hiera_t.yaml'); set sam2.config to one of them or to a YAML file."
    )


def check_checkpoint(checkpoint: str | None) -> Path:
    """The checkpoint path of ``sam2.checkpoint``; a missing one is an error naming the parameter
    and what to download."""
    if checkpoint in (None, ""):
        raise FileNotFoundError(
            "sam2.checkpoint is not set: download a SAM 2.1 checkpoint (e.g. "
            f"{CHECKPOINT_URL}sam2.1_hiera_tiny.pt, with sam2.config "
            "'configs/sam2.1/sam2.1_hiera_t.yaml') and set sam2.checkpoint to its path."
        )
    path = Path(str(checkpoint)).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"sam2.checkpoint={str(checkpoint)!r}: no such file; download it (e.g. "
            f"{CHECKPOINT_URL}{path.name}) or set sam2.checkpoint to the path of a SAM 2.1 checkpoint."
        )
    return path


def image_size_for(sam2_params: Mapping[str, Any], device: torch.device) -> int:
    """The internal image size: ``sam2.cpu_image_size`` on CPU (when set), else ``sam2.image_size``."""
    size = sam2_params["image_size"]
    if device.type == "cpu" and sam2_params.get("cpu_image_size"):
        size = sam2_params["cpu_image_size"]
    size = int(size)
    if size < 64 or size % 32:
        raise ValueError(
            f"sam2.image_size / sam2.cpu_image_size: expected a multiple of 32 >= 64, got {size}"
        )
    return size


def bf16_for(sam2_params: Mapping[str, Any], device: torch.device) -> bool:
    """Whether SAM 2 runs under bf16 autocast: ``sam2.bf16``, where ``auto`` means on CUDA."""
    bf16 = sam2_params["bf16"]
    return device.type == "cuda" if bf16 == "auto" else bool(bf16)


def size_overrides(image_size: int, fill_hole_area: int) -> dict[str, Any]:
    """The config overrides (hydra's ``++key=value``) for a SAM 2 video predictor at
    ``image_size``, with SAM 2's own video post-processing."""
    feat = [image_size // 16, image_size // 16]
    return {
        "model._target_": "sam2.sam2_video_predictor.SAM2VideoPredictor",
        "model.image_size": image_size,
        "model.memory_attention.layer.self_attention.feat_sizes": feat,
        "model.memory_attention.layer.cross_attention.feat_sizes": feat,
        "model.sam_mask_decoder_extra_args.dynamic_multimask_via_stability": True,
        "model.sam_mask_decoder_extra_args.dynamic_multimask_stability_delta": 0.05,
        "model.sam_mask_decoder_extra_args.dynamic_multimask_stability_thresh": 0.98,
        "model.binarize_mask_from_pts_for_mem_enc": True,
        "model.fill_hole_area": fill_hole_area,
    }


def _quiet_progress_bars() -> None:
    """SAM 2's ``propagate_in_video`` draws a tqdm bar per call, i.e. per chunk: silence it."""
    from sam2 import sam2_video_predictor

    sam2_video_predictor.tqdm = lambda iterable, **_: iterable


@dataclass
class Sam2Model:
    """A loaded SAM 2 video predictor and how to run it."""

    predictor: Any  # sam2.sam2_video_predictor.SAM2VideoPredictor
    device: torch.device
    image_size: int
    bf16: bool
    offload_state_to_cpu: bool


def build_model(config: Path, image_size: int | None = None, fill_hole_area: int = 0) -> torch.nn.Module:
    """A ``SAM2VideoPredictor`` with random weights from the config file ``config``, at
    ``image_size`` (None: the config's own); its parameters' names and shapes do not depend on
    the image size, so one checkpoint serves every size."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(config)
    size = int(cfg.model.image_size) if image_size is None else int(image_size)
    for key, value in size_overrides(size, fill_hole_area).items():
        OmegaConf.update(cfg, key, value, force_add=True)
    OmegaConf.resolve(cfg)
    return instantiate(cfg.model, _recursive_=True)


#: the models loaded in this process, one per kind ("sam2", "grounding_dino"), with their key
_LOADED: dict[str, tuple[tuple, Any]] = {}


def reuse_model(kind: str, key: tuple, load: Callable[[], Any]) -> Any:
    """What ``load()`` returns, kept in this process for the next call of the same ``kind`` and
    ``key``: a worker segments video after video with the models it loaded for the first
    instead of reading the weights again. One model per kind is held (a new key frees the old)."""
    held = _LOADED.get(kind)
    if held is not None and held[0] == key:
        return held[1]
    _LOADED.pop(kind, None)
    model = load()
    _LOADED[kind] = (key, model)
    return model


def release_models() -> None:
    """Forget the models this process holds (``reuse_model``), so their memory can be freed."""
    _LOADED.clear()


def _load_weights(
    config: Path, checkpoint: Path, *, size: int, fill: int, dev: torch.device, name: str
) -> Any:
    """SAM 2 from ``config`` at ``size`` with the weights of ``checkpoint``, on ``dev``."""
    model = build_model(config, size, fill)
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    missing, unexpected = model.load_state_dict(state.get("model", state), strict=False)
    if missing or unexpected:
        raise ValueError(
            f"sam2.checkpoint={str(checkpoint)!r} does not fit sam2.config={name!r}: "
            f"missing {list(missing)[:5]}, unexpected {list(unexpected)[:5]}"
        )
    return model.to(dev).eval()


def load_sam2(sam2_params: Mapping[str, Any], device: str | torch.device) -> Sam2Model:
    """Build SAM 2 from ``segmentation.sam2`` (config, checkpoint, image sizes, bf16,
    offload_state_to_cpu) on ``device`` ("auto" = CUDA when present), or reuse the one this
    process loaded with the same settings and checkpoint file. Missing files fail here, naming
    the parameter."""
    config = resolve_config(sam2_params["config"])
    checkpoint = check_checkpoint(sam2_params["checkpoint"])
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    size = image_size_for(sam2_params, dev)
    fill = int(sam2_params["fill_hole_area"])
    if fill > 0 and not has_sam2_extension():
        _warn_no_extension_once()
        fill = 0
    key = (str(config), weights_signature(checkpoint), size, fill, str(dev))
    name = str(sam2_params["config"])
    model = reuse_model("sam2", key, lambda: _load_weights(config, checkpoint, size=size, fill=fill, dev=dev, name=name))
    _quiet_progress_bars()
    bf16 = bf16_for(sam2_params, dev)
    return Sam2Model(model, dev, size, bf16, bool(sam2_params["offload_state_to_cpu"]))


def autocast(model: Sam2Model) -> contextlib.AbstractContextManager:
    """bf16 autocast on the model's device when ``sam2.bf16`` asks for it, else nothing."""
    if not model.bf16:
        return contextlib.nullcontext()
    return torch.autocast(model.device.type, dtype=torch.bfloat16)


class ChunkFrames:
    """A chunk's frames for SAM 2, kept as resized uint8 (4x smaller than SAM 2's float copy) and
    normalised on access: ``frames[i]`` is the (3, S, S) float tensor SAM 2 expects."""

    def __init__(self, frames: Sequence[np.ndarray], image_size: int) -> None:
        self.images = [
            cv2.resize(
                np.ascontiguousarray(f), (image_size, image_size), interpolation=cv2.INTER_LINEAR
            )
            for f in frames
        ]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        img = (self.images[index].astype(np.float32) / 255.0 - IMG_MEAN) / IMG_STD
        return torch.from_numpy(img).permute(2, 0, 1)


def chunk_state(model: Sam2Model, frames: Sequence[np.ndarray]) -> dict[str, Any]:
    """SAM 2's video inference state for an in-memory chunk of (H, W, 3) uint8 RGB frames (the
    fields of ``SAM2VideoPredictor.init_state``, without reading a video from disk)."""
    if not frames:
        raise ValueError("a chunk needs at least one frame")
    height, width = frames[0].shape[:2]
    storage = torch.device("cpu") if model.offload_state_to_cpu else model.device
    return {
        "images": ChunkFrames(frames, model.image_size),
        "num_frames": len(frames),
        "offload_video_to_cpu": True,
        "offload_state_to_cpu": model.offload_state_to_cpu,
        "video_height": height,
        "video_width": width,
        "device": model.device,
        "storage_device": storage,
        "point_inputs_per_obj": {},
        "mask_inputs_per_obj": {},
        "cached_features": {},
        "constants": {},
        "obj_id_to_idx": OrderedDict(),
        "obj_idx_to_id": OrderedDict(),
        "obj_ids": [],
        "output_dict_per_obj": {},
        "temp_output_dict_per_obj": {},
        "frames_tracked_per_obj": {},
    }


@dataclass
class Prompt:
    """How one object is registered with the video predictor on a frame: ``kind`` is "mask"
    (``mask``), "box" (``box`` = x0, y0, x1, y1 in pixels) or "point" (one positive point inside
    ``mask``, the pixel farthest from its border; the box centre when the mask is empty)."""

    kind: str
    mask: np.ndarray
    box: np.ndarray | None = None


def inner_point(mask: np.ndarray, box: np.ndarray | None) -> np.ndarray:
    """The pixel of ``mask`` farthest from its border, as (x, y); the centre of ``box`` (or of the
    frame) when the mask is empty."""
    if mask.any():
        dist = cv2.distanceTransform(np.pad(mask.astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
        y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
        return np.asarray([x, y], np.float32)
    if box is not None:
        return np.asarray([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], np.float32)
    return np.asarray([mask.shape[1] / 2, mask.shape[0] / 2], np.float32)


def add_prompt(
    model: Sam2Model, state: dict[str, Any], frame: int, object_id: int, prompt: Prompt
) -> None:
    """Register ``prompt`` for ``object_id`` on chunk frame ``frame``."""
    predictor = model.predictor
    if prompt.kind == "mask" or (prompt.kind == "box" and prompt.box is None):
        predictor.add_new_mask(state, frame, object_id, torch.from_numpy(prompt.mask.astype(bool)))
    elif prompt.kind == "box":
        predictor.add_new_points_or_box(
            state, frame, object_id, box=np.asarray(prompt.box, np.float32)
        )
    elif prompt.kind == "point":
        point = inner_point(prompt.mask, prompt.box)
        predictor.add_new_points_or_box(
            state, frame, object_id, points=point[None], labels=np.ones(1, np.int32)
        )
    else:
        raise ValueError(f"prompt type {prompt.kind!r}: expected one of {', '.join(PROMPT_TYPES)}")


def propagate(
    model: Sam2Model,
    frames: Sequence[np.ndarray],
    prompts: Mapping[int, Prompt],
    *,
    start: int = 0,
    directions: Sequence[tuple[str, int | None]] = (("forward", None),),
) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
    """Track the prompted objects (``{object_id: Prompt}``, all on chunk frame ``start``) over the
    in-memory chunk ``frames``, in each of ``directions`` in turn: ("forward" or "backward", at
    most that many frames from ``start``, None: to the chunk's end); yield ``(chunk frame index,
    {object_id: (H, W) bool mask})`` in processing order (each direction starts with ``start``).
    The chunk's inference state is released when the iterator ends."""
    if not prompts:
        return
    for direction, _ in directions:
        if direction not in ("forward", "backward"):
            raise ValueError(f"direction {direction!r}: expected 'forward' or 'backward'")
    state = chunk_state(model, frames)
    try:
        with torch.inference_mode(), autocast(model):
            for object_id, prompt in prompts.items():
                add_prompt(model, state, start, object_id, prompt)
        for direction, max_frames in directions:
            steps = model.predictor.propagate_in_video(
                state,
                start_frame_idx=start,
                max_frame_num_to_track=max_frames,
                reverse=direction == "backward",
            )
            while True:
                # the grad and autocast modes are entered per step, never across a yield (they are
                # thread-wide: the consumer's code must not run under them)
                with torch.inference_mode(), autocast(model):
                    step = next(steps, None)
                    if step is None:
                        break
                    index, ids, logits = step
                    masks = (logits[:, 0] > 0.0).cpu().numpy()
                yield int(index), {int(i): masks[k] for k, i in enumerate(ids)}
    finally:
        state.clear()


def image_predictor(model: Sam2Model, predictor: Any) -> Any:
    """``predictor`` (a ``SAM2ImagePredictor``) made to fit the model's image size (its backbone
    feature sizes are hard-coded for 1024 px)."""
    size = model.image_size
    predictor._bb_feat_sizes = [
        (size // 4, size // 4),
        (size // 8, size // 8),
        (size // 16, size // 16),
    ]
    return predictor


def box_masks(
    model: Sam2Model, frame: np.ndarray, boxes: np.ndarray, batch: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """SAM 2's image predictor on one (H, W, 3) RGB frame: one (H, W) bool mask per (x0, y0, x1, y1)
    box, and its predicted IoU; ``(0, H, W)`` masks for no boxes. Boxes go through the mask
    decoder ``batch`` at a time (its activations grow with the number of boxes)."""
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    height, width = frame.shape[:2]
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros((0, height, width), bool), np.zeros(0, np.float32)
    predictor = image_predictor(model, SAM2ImagePredictor(model.predictor))
    masks, scores = [], []
    with torch.inference_mode(), autocast(model):
        predictor.set_image(frame)
        for first in range(0, len(boxes), batch):
            part = boxes[first : first + batch]
            got, iou, _ = predictor.predict(box=part, multimask_output=False)
            masks.append(np.asarray(got).reshape(len(part), -1, height, width)[:, 0] > 0)
            scores.append(np.asarray(iou, np.float32).reshape(len(part), -1)[:, 0])
    predictor.reset_predictor()
    return np.concatenate(masks), np.concatenate(scores)
