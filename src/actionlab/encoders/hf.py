"""Hugging Face video transformers (VideoMAE, TimeSformer, X-CLIP) from a local directory.

The directory (``embedding.hf.path``) holds ``config.json`` + weights as written by
``save_pretrained``; everything loads with ``local_files_only=True``. The model type comes
from the config. Each model maps a clip of ``num_frames`` frames (``config.num_frames``,
X-CLIP: ``vision_config.num_frames``; ``embedding.hf.num_frames`` overrides) to one vector:

* ``videomae``: no CLS token -> mean over all tokens of the last hidden state; when the
  checkpoint is a ``VideoMAEForVideoClassification`` with ``use_mean_pooling`` its
  ``fc_norm`` is applied after the mean (the classifier's own pooling path).
* ``timesformer``: CLS token of the last hidden state (after the final layer norm).
* ``x_clip``: ``get_video_features`` -> projected, MIT-aggregated video embedding.

Preprocessing: the model's own processor when the directory has one
(``video_preprocessor_config.json`` / ``preprocessor_config.json``, via AutoVideoProcessor,
else AutoImageProcessor), applied to the whole clip once; otherwise config-derived defaults:
resize to ``image_size`` square, scale to [0, 1], normalise with the family's usual mean/std.
Windows/streams as in ``ClipModelEncoder`` (``encode_many`` batches the windows of several
clips together).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from actionlab.encoders.base import ClipModelEncoder, merge_config

MODEL_TYPES = {
    "videomae": "videomae",
    "timesformer": "timesformer",
    "xclip": "x_clip",
    "x_clip": "x_clip",
}
# Fallback normalisation when the directory has no processor (the families' usual processors).
DEFAULT_MEAN_STD = {
    "videomae": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "timesformer": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "x_clip": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
}
PROCESSOR_FILES = ("video_preprocessor_config.json", "preprocessor_config.json")


def _load_processor(path: Path) -> Any | None:
    """The directory's video/image processor, or None when it has none."""
    if not any((path / name).is_file() for name in PROCESSOR_FILES):
        return None
    from transformers import AutoImageProcessor, AutoVideoProcessor

    try:
        return AutoVideoProcessor.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError, KeyError):
        return AutoImageProcessor.from_pretrained(str(path), local_files_only=True)


class HFVideoEncoder(ClipModelEncoder):
    """VideoMAE / TimeSformer / X-CLIP video encoder loaded from a local directory."""

    name = "hf"

    def __init__(self, config: Mapping[str, Any] | None = None, device: str = "auto") -> None:
        super().__init__(config, device)
        from transformers import AutoConfig, AutoModel

        hf_cfg = self.config["hf"]
        if not hf_cfg.get("path"):
            raise FileNotFoundError(
                "embedding.hf.path is not set; point it to a local save_pretrained directory."
            )
        path = Path(hf_cfg["path"])
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"embedding.hf.path={str(path)!r} has no config.json; it must be a local directory "
                "written by save_pretrained (models are never downloaded)."
            )
        self.path = path
        self.hf_config = AutoConfig.from_pretrained(str(path), local_files_only=True)
        model_type = MODEL_TYPES.get(self.hf_config.model_type)
        if model_type is None:
            raise ValueError(
                f"embedding.hf.path={str(path)!r} holds a {self.hf_config.model_type!r} model; "
                f"supported: {sorted(set(MODEL_TYPES.values()))}."
            )
        self.model_type = model_type
        vision = getattr(self.hf_config, "vision_config", self.hf_config)
        self.clip_len = int(hf_cfg.get("num_frames") or vision.num_frames)
        self.image_size = int(vision.image_size)

        self.fc_norm: nn.Module | None = None
        architectures = getattr(self.hf_config, "architectures", None) or []
        if (
            model_type == "videomae"
            and "VideoMAEForVideoClassification" in architectures
            and self.hf_config.use_mean_pooling
        ):
            from transformers import VideoMAEForVideoClassification

            full = VideoMAEForVideoClassification.from_pretrained(str(path), local_files_only=True)
            model, self.fc_norm = full.videomae, full.fc_norm
        else:
            model = AutoModel.from_pretrained(str(path), local_files_only=True)
        self.attach(model)
        if self.fc_norm is not None:
            self.fc_norm.to(self.device).eval()

        self.processor = _load_processor(path)
        mean, std = DEFAULT_MEAN_STD[model_type]
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    def prepare(self, clip: np.ndarray) -> torch.Tensor:
        """uint8 (T, H, W, 3) -> pixel values (T, 3, h, w) (processor or defaults)."""
        if self.processor is not None:
            from transformers.video_processing_utils import BaseVideoProcessor

            if isinstance(self.processor, BaseVideoProcessor):
                frames = torch.from_numpy(np.ascontiguousarray(clip)).permute(0, 3, 1, 2)
                out = self.processor(videos=[frames], return_tensors="pt")
            else:
                out = self.processor(list(clip), return_tensors="pt")
            return out["pixel_values"][0].float()
        x = (
            torch.from_numpy(np.ascontiguousarray(clip))
            .to(self.device)
            .permute(0, 3, 1, 2)
            .float()
            .div_(255.0)
        )
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = nn.functional.interpolate(
                x, size=(self.image_size, self.image_size), mode="bilinear", antialias=True
            )
        return (x - self.mean.to(self.device)) / self.std.to(self.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, num_frames, 3, h, w) -> (B, D) pooled as the model family expects."""
        if self.model_type == "x_clip":
            out = self.model.get_video_features(pixel_values=x)
            return out if isinstance(out, torch.Tensor) else out.pooler_output
        hidden = self.model(pixel_values=x).last_hidden_state
        if self.model_type == "timesformer":
            return hidden[:, 0]
        pooled = hidden.mean(dim=1)
        return self.fc_norm(pooled) if self.fc_norm is not None else pooled


def build_hf_encoder(
    config: Mapping[str, Any] | None = None, device: str = "auto"
) -> HFVideoEncoder:
    """Encoder for ``config['hf']`` (see the module docstring)."""
    return HFVideoEncoder(merge_config(config), device)
