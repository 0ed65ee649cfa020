"""Classify a new video with a trained classifier, exactly as its training clips were made (no kedro).

A classifier blob (``actionlab.models.compare.classifier_blob``) carries the lineage of the
features it was trained on: the ``preprocessing.*`` parameters (how a video became a clip), the
``embedding.*`` parameters (which encoder, with which settings) and, for ``ssl``, the digest of the
SSL encoder's weights. :class:`Predictor` rebuilds that path from the blob alone:

    video (time range) -> load_clip(preprocessing params) -> encoder(embedding params)
    -> frame features / clip embedding -> classifier -> class probabilities

A clip model (``cnn_lstm``, ``cnn3d``; blob ``input: clips``) has no encoder: the clip made with
the blob's preprocessing lineage goes to the model as the pipeline's test-time evaluation gives a
stored clip to it, with the blob's ``clip`` window settings (``frames_per_clip``, ``stride``,
``input_size``, ``views``): ``views`` evenly spaced windows through a ``ClipDataset``, their
softmax probabilities averaged (``actionlab.models.clip_train.predict_proba``).

Timeline windows (:meth:`Predictor.predict_windows`) are as long as the training clips: the
blob records their median source length (``clip_seconds``). A training clip is a whole video (or
an annotated range) sampled by ``preprocessing.strategy``; with ``step`` (the default) it holds at
most ``max_frames`` frames taken every ``step`` source frames, so it spans at most
``step * max_frames`` source frames (``all``: ``max_frames``; :func:`window_frames`), which caps
the window. The other strategies (``uniform``, ``large_step``, ``cosine``) spread a fixed number of
frames over the whole clip, so an older blob without ``clip_seconds`` needs ``window`` (seconds)
then. Each window is decoded and sampled on its own, with the training parameters, so a window is
what a training clip of that length would have been.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.pipeline import Pipeline

from actionlab.encoders import build_encoder
from actionlab.encoders.base import Encoder
from actionlab.inference.timeline import TimelineError, make_windows, range_frames, select_range
from actionlab.keys import module_digest
from actionlab.models import FrameEncoder
from actionlab.models.classifiers import linear_proba
from actionlab.models.clip_data import ArrayClips, ClipDataset
from actionlab.models.clip_train import predict_proba as predict_clips
from actionlab.models.compare import CLIP_WINDOW, classifier_from_blob
from actionlab.models.train_classifier import predict_sequences
from actionlab.segmentation.items import remove_background
from actionlab.video.decode import load_clip
from actionlab.video.errors import VideoError
from actionlab.video.probe import VideoInfo, probe

__all__ = ["PredictError", "Predictor", "VideoFeatures", "lineage_params", "window_frames"]

CLIP_PARAMS = ("strategy", "size", "crop_offset", "num_frames", "step", "max_frames", "threshold")


class PredictError(ValueError):
    """Bad input for a prediction (video, range, model, weights); the message names the fix."""


def lineage_params(blob: Mapping[str, Any], group: str) -> dict[str, Any]:
    """The parameter group ``group`` (``preprocessing``, ``embedding``) of a blob's lineage, nested
    again (``{"embedding.motion.grid": 3}`` -> ``{"motion": {"grid": 3}}``)."""
    flat = (blob.get("lineage") or {}).get("params") or {}
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = str(key).split(".")
        if parts[0] != group or len(parts) < 2:
            continue
        node = out
        for part in parts[1:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out




def window_frames(preprocessing: Mapping[str, Any]) -> int | None:
    """Source frames one training clip spans (see the module docstring), or None when the
    sampling strategy does not fix it."""
    strategy = preprocessing.get("strategy", "step")
    max_frames = preprocessing.get("max_frames")
    if strategy == "step" and max_frames:
        return int(preprocessing.get("step", 1)) * int(max_frames)
    if strategy == "all" and max_frames:
        return int(max_frames)
    return None


@dataclass(kw_only=True)
class VideoFeatures:
    """The path from a video to what a model was trained on, rebuilt from a blob's lineage: the
    clip (``preprocessing`` params) and, for a feature model, the encoder (``embedding`` params).
    Shared by :class:`Predictor` and the anomaly scorer (``actionlab.anomaly.score``)."""

    clip_params: dict[str, Any]
    encoder: Encoder | None  # None for a clip model (input clips)
    clip_seconds: float | None = None  # median length of the training clips (the default window)
    segmentation: dict[str, Any] | None = None  # the backend's parameters when features came from segmented clips

    @staticmethod
    def segmentation_of(blob: Mapping[str, Any], *, what: str, pipeline: str) -> dict[str, Any] | None:
        """The ``segmentation`` parameters of a blob whose features were made from segmented
        clips (``embedding.input: segmented``), else None: a new video is segmented the same way."""
        if lineage_params(blob, "embedding").get("input") != "segmented":
            return None
        params = lineage_params(blob, "segmentation")
        if "backend" not in params:
            raise PredictError(
                f"{what} was trained on segmented clips, but its lineage lacks the segmentation "
                f"parameters; retrain it with `kedro run --pipelines segmentation,embedding,{pipeline}`."
            )
        return params

    @staticmethod
    def from_lineage(
        blob: Mapping[str, Any], ssl_encoder: FrameEncoder | None = None, *, what: str, pipeline: str,
        encoder: bool = True,
    ) -> tuple[dict[str, Any], Encoder | None]:  # fmt: skip
        """The clip parameters and (when ``encoder``) the encoder a blob's lineage names.
        ``what`` names the model in errors (``classifier 'x'``), ``pipeline`` the pipeline that
        retrains it; ``ssl_encoder`` is needed, and checked against the recorded digest, when the
        lineage says ``ssl``."""
        embedding = lineage_params(blob, "embedding")
        preprocessing = lineage_params(blob, "preprocessing")
        if not preprocessing or (encoder and "encoder" not in embedding):
            raise PredictError(
                f"{what} has no {'embedding/preprocessing' if encoder else 'preprocessing'} lineage, so the "
                f"input it needs is unknown; retrain it with `kedro run --pipelines {pipeline}`."
            )
        clip = {k: preprocessing[k] for k in CLIP_PARAMS if k in preprocessing}
        if "crop_offset" in clip:
            clip["crop_offset"] = tuple(clip["crop_offset"])
        if not encoder:
            return clip, None
        encoder_name = embedding["encoder"]
        if encoder_name == "ssl":
            if ssl_encoder is None:
                raise PredictError(
                    f"{what} was trained on features of the SSL encoder (embedding.encoder=ssl), which is "
                    "missing; pass the ssl_encoder.pt it was trained with (data/04_feature/ssl_encoder.pt, "
                    "or use the MLflow model, which bundles it)."
                )
            want = (blob["lineage"].get("params") or {}).get("ssl_encoder.digest")
            have = module_digest(ssl_encoder)
            if want and want != have:
                raise PredictError(
                    f"{what} was trained on features of the SSL encoder {want}, but the given SSL encoder "
                    f"is {have} (retrained since?); pass the encoder it was trained with, or retrain it "
                    f"(`kedro run --pipelines embedding,{pipeline}`)."
                )
        config = {**embedding, "num_threads": None}
        try:
            built = build_encoder(
                encoder_name, config, ssl_encoder=ssl_encoder if encoder_name == "ssl" else None, device="cpu"
            )
        except (FileNotFoundError, OSError, ValueError) as err:
            raise PredictError(
                f"{what} needs the {encoder_name!r} encoder it was trained with, which cannot be built "
                f"here: {err}"
            ) from err
        return clip, built

    @staticmethod
    def video_info(path: str | Path) -> VideoInfo:
        """Probe ``path``; a missing file or a file that is not a video -> PredictError."""
        p = Path(path)
        if not p.is_file():
            raise PredictError(f"{path}: no such file; pass the path of an existing video file.")
        try:
            return probe(p)
        except VideoError as err:
            raise PredictError(f"{path} is not a readable video ({err}); pass a video file (mp4, avi, ...).") from err

    def clip(self, path: str | Path, t0: float, t1: float) -> np.ndarray:
        """The range ``[t0, t1)`` of the video as a training clip (T, S, S, 3) uint8."""
        try:
            frames = load_clip(path, start=t0, end=t1, **self.clip_params).frames
        except VideoError as err:
            raise PredictError(str(err)) from err
        if self.segmentation is None:
            return frames
        try:
            return remove_background(frames, self.segmentation)
        except (FileNotFoundError, OSError, ValueError) as err:
            raise PredictError(f"the model was trained on segmented clips; segmenting {path} failed: {err}") from err

    def encode(self, clips: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(frame features (T', D), clip embedding (E,)) of each preprocessed clip."""
        assert self.encoder is not None
        return self.encoder.encode_many(clips)

    def time_range(self, path: str | Path, start: float | None, end: float | None,
                   duration: float | None) -> tuple[VideoInfo, float, float]:  # fmt: skip
        """The video's facts and the selected range ``(t0, t1)`` in seconds (``select_range``)."""
        info = self.video_info(path)
        try:
            t0, t1 = select_range(info.duration, start, end, duration)
        except TimelineError as err:
            raise PredictError(f"{path}: {err}") from err
        return info, t0, t1

    def windows(self, path: str | Path, start: float | None = None, end: float | None = None,
                duration: float | None = None, *, window: float | None = None,
                stride: float | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """(starts, ends) in seconds of the windows over the range: length ``window`` seconds
        (default: the training clips' median length, at most what a clip holds, see
        :func:`window_frames`), every ``stride`` seconds (default half a window)."""
        info, t0, t1 = self.time_range(path, start, end, duration)
        first, count = range_frames(t0, t1, info.fps, info.frames)
        if window is None and self.clip_seconds and info.fps > 0:
            frames = window_frames(self.clip_params)
            window = min(self.clip_seconds, frames / info.fps) if frames else self.clip_seconds
        if window is None:
            frames = window_frames(self.clip_params)
            if frames is None:
                raise PredictError(
                    f"preprocessing.strategy={self.clip_params.get('strategy')!r} does not fix a clip "
                    "length; pass the window length in seconds (--window)."
                )
            length, unit = frames, "frames"
        else:
            length, unit = window, "s"
        try:
            if stride is None:
                size = length if unit == "frames" else max(1, round(length * info.fps))
                windows = make_windows(count, info.fps, size, max(1, size // 2), unit="frames", first_frame=first)
            else:
                windows = make_windows(count, info.fps, length, stride, unit=unit, first_frame=first)  # type: ignore[arg-type]
        except TimelineError as err:
            raise PredictError(str(err)) from err
        return np.array([w.start for w in windows]), np.array([w.end for w in windows])


@dataclass(kw_only=True)
class Predictor(VideoFeatures):
    """A classifier with the preprocessing and encoder it was trained with."""

    name: str
    classes: list[str]
    model: torch.nn.Module | Pipeline
    input: str  # frame_features | embedding | clips
    window: dict[str, int] | None = None  # a clip model's `clip` settings (CLIP_WINDOW)

    @classmethod
    def from_blob(cls, blob: Mapping[str, Any], ssl_encoder: FrameEncoder | None = None) -> Predictor:
        """Build from a classifier blob; ``ssl_encoder``: the SSL encoder the features came from
        (needed, and checked against the recorded digest, when the lineage says ``ssl``)."""
        name = str(blob.get("model", "?"))
        kind = str(blob.get("input", "frame_features"))
        if kind not in ("frame_features", "embedding", "clips"):
            raise PredictError(
                f"classifier {name!r} reads {kind!r}, which predict does not know; retrain it with "
                "`kedro run --pipelines classification`."
            )
        clip, encoder = cls.from_lineage(
            blob, ssl_encoder, what=f"classifier {name!r}", pipeline="classification",
            encoder=kind != "clips",
        )  # fmt: skip
        window = None
        if kind == "clips":
            window = blob.get("clip") or {}
            if any(k not in window for k in CLIP_WINDOW):
                raise PredictError(
                    f"clip model {name!r} has no window settings {list(CLIP_WINDOW)} in its file; "
                    "retrain it with `kedro run --pipelines classification`."
                )
            window = {k: int(window[k]) for k in CLIP_WINDOW}
        return cls(
            name=name, classes=[str(c) for c in blob["classes"]], model=classifier_from_blob(dict(blob)),
            input=kind, clip_params=clip, encoder=encoder, window=window, clip_seconds=blob.get("clip_seconds"),
            segmentation=None if kind == "clips" else cls.segmentation_of(
                blob, what=f"classifier {name!r}", pipeline="classification"),
        )  # fmt: skip

    # ------------------------------------------------------------------------------ video

    def probs_of_clips(self, clips: list[np.ndarray]) -> np.ndarray:
        """Class probabilities ``(n, C)`` of preprocessed clips (T, S, S, 3) uint8."""
        if self.input == "clips":
            return self._clip_model_probs(clips)
        encoded = self.encode(clips)
        if self.input == "embedding":
            assert isinstance(self.model, Pipeline)
            x = np.stack([e for _, e in encoded]).astype(np.float64)
            out = np.zeros((len(clips), len(self.classes)))
            out[:, self.model.classes_] = linear_proba(self.model, x)
            return out
        assert isinstance(self.model, torch.nn.Module)
        with torch.inference_mode():
            return predict_sequences(self.model, [f.astype(np.float32) for f, _ in encoded])

    def _clip_model_probs(self, clips: list[np.ndarray]) -> np.ndarray:
        """A clip model's probabilities: the clips' evaluation windows (``window``), as in testing."""
        assert self.window is not None and isinstance(self.model, torch.nn.Module)
        w = self.window
        data = ClipDataset(
            [str(i) for i in range(len(clips))], [len(c) for c in clips], [-1] * len(clips), ArrayClips(clips),
            classes=self.classes, frames_per_clip=w["frames_per_clip"], stride=w["stride"],
            size=w["input_size"], views=w["views"],
        )  # fmt: skip
        return predict_clips(self.model, data, device="cpu")

    def predict_proba(self, path: str | Path, start: float | None = None, end: float | None = None,
                      duration: float | None = None) -> np.ndarray:  # fmt: skip
        """Class probabilities (C,) of the range of the video, as one clip."""
        _, t0, t1 = self.time_range(path, start, end, duration)
        return self.probs_of_clips([self.clip(path, t0, t1)])[0]

    def predict(self, path: str | Path, start: float | None = None, end: float | None = None,
                duration: float | None = None, top_k: int = 3) -> list[tuple[str, float]]:  # fmt: skip
        """The ``top_k`` (label, probability) of the range, most probable first."""
        if top_k < 1:
            raise PredictError(f"top_k={top_k} must be >= 1.")
        probs = self.predict_proba(path, start, end, duration)
        order = np.argsort(-probs, kind="stable")[:top_k]
        return [(self.classes[i], float(probs[i])) for i in order]

    def predict_windows(self, path: str | Path, start: float | None = None, end: float | None = None,
                        duration: float | None = None, *, window: float | None = None,
                        stride: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        """Windows over the range (length ``window`` seconds, default: the training clips' median
        length, at most what a clip holds, see :func:`window_frames`; ``stride`` seconds,
        default half a window): (starts, ends, probs)."""
        starts, ends = self.windows(path, start, end, duration, window=window, stride=stride)
        probs = self.probs_of_clips([self.clip(path, float(a), float(b)) for a, b in zip(starts, ends, strict=True)])
        return starts, ends, probs

    def top_k_frame(self, probs: np.ndarray, top_k: int) -> pd.DataFrame:
        """Rows (rank, label, probability) of the ``top_k`` classes of one probability vector."""
        order = np.argsort(-probs, kind="stable")[:top_k]
        return pd.DataFrame(
            {"rank": np.arange(1, len(order) + 1), "label": [self.classes[i] for i in order],
             "probability": probs[order].astype(np.float64)}
        )  # fmt: skip
