"""One schema per parameter group, checked before any work starts (no kedro here).

``check_parameters`` validates every known group present in the project parameters
(``ingestion``, ``preprocessing``, ``segmentation``, ``ssl_training``, ``embedding``, ``clustering``,
``classification``, ``anomaly``, ``inference``, ``runtime``)
and raises one ``ParameterError`` that lists every problem as ``group.key = value: what is
allowed``. Groups it does not know (future pipelines) pass unchecked.

The YAML files in ``conf/base`` are the one source of defaults: the schemas hold the types and
the allowed values, never a default (a key missing from the merged parameters is an error).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PlainValidator,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from actionlab.clustering.algorithms import ALGORITHMS
from actionlab.encoders.pooling import POOLINGS, STREAMS
from actionlab.encoders.registry import ENCODER_NAMES
from actionlab.encoders.torchvision_models import image_model_names, video_model_names
from actionlab.engine.config import RuntimeConfig
from actionlab.manifest.sources import SOURCES
from actionlab.manifest.splits import SPLITS
from actionlab.models.classifiers import LINEAR_ESTIMATORS, MODELS
from actionlab.models.clip_models import CLIP_INPUT_MODES, CLIP_MODELS, CNN3D_ARCHS, LSTM_POOLING
from actionlab.models.compare import CV_MODES
from actionlab.models.frame_encoder import INPUT_MODES, NORMS, POOLS, ROIS
from actionlab.segmentation.base import BACKEND_NAMES
from actionlab.synthetic.render import CAMERAS
from actionlab.video.sampling import STRATEGIES

__all__ = ["GROUPS", "ParameterError", "check_parameters"]

OPTIMIZERS = ("sgd", "adam")  # actionlab.models.ssl_train._build_optimizer
TRUNCATED = ("accept", "reject")
RESNET_PREFIXES = ("resnet", "resnext", "wide_resnet")  # FrameEncoder builds a torchvision ResNet


def _device(value: str) -> str:
    name = value.strip().lower()
    if name in ("auto", "cpu", "cuda") or (name.startswith("cuda:") and name[5:].isdigit()):
        return value
    raise ValueError("expected auto, cpu, cuda or cuda:N")


def _resnet(value: str) -> str:
    names = [n for n in image_model_names() if n.startswith(RESNET_PREFIXES)]
    if value not in names:
        raise ValueError(f"expected a torchvision ResNet: {', '.join(names)}")
    return value


def _torchvision_model(value: str) -> str:
    if value not in image_model_names() and value not in video_model_names():
        raise ValueError(
            f"expected a torchvision video model ({', '.join(video_model_names())}) "
            "or image model (e.g. resnet18, resnet50, vit_b_16; see torchvision.models.list_models())"
        )
    return value


def _ordered_pair(value: list[Any]) -> list[Any]:
    if value[0] > value[1]:
        raise ValueError(f"expected [min, max] with min <= max, got {value}")
    return value


def _pca_components(value: Any) -> int | float | None:
    if value is None:
        return None
    allowed = "expected null (all features), an int >= 1 (components) or a float in (0, 1)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(allowed)
    if isinstance(value, int) and value >= 1:
        return value
    if isinstance(value, float) and 0.0 < value < 1.0:
        return value
    if isinstance(value, float) and value >= 1.0 and value.is_integer():
        return int(value)  # 5.0 means five components, as in clustering.prepare_features
    raise ValueError(allowed)


Device = Annotated[str, AfterValidator(_device)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Offset = Annotated[float, Field(ge=-1.0, le=1.0)]
Extension = Annotated[str, Field(pattern=r"^\.[A-Za-z0-9]+$")]
NonEmptyStr = Annotated[str, Field(min_length=1)]
Pair = Annotated[
    list[PositiveInt], Field(min_length=2, max_length=2), AfterValidator(_ordered_pair)
]
Seed = NonNegativeInt  # numpy seeds must be >= 0


class _Group(BaseModel):
    """Strict (YAML types as written: ``5`` is not ``"5"``), unknown keys forbidden, no defaults."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# ------------------------------------------------------------------------------------ ingestion


class SplitParams(_Group):
    """``ingestion.split``."""

    seed: Seed
    fractions: dict[Literal[SPLITS], NonNegativeFloat]  # type: ignore[valid-type]

    @field_validator("fractions")
    @classmethod
    def _sum_to_one(cls, value: dict[str, float]) -> dict[str, float]:
        total = sum(value.values())
        if not math.isclose(total, 1.0, rel_tol=0.0, abs_tol=1e-6):
            raise ValueError(f"expected fractions that sum to 1, they sum to {total:g}")
        return value


class SyntheticParams(_Group):
    """``ingestion.synthetic``: arguments of ``actionlab.synthetic.generate_dataset``."""

    clips_per_action: NonNegativeInt
    incorrect_per_action: NonNegativeInt
    num_actors: PositiveInt
    num_frames: PositiveInt
    size: Annotated[int, Field(ge=16)]
    fps: PositiveFloat
    seed: Seed
    camera: Literal[CAMERAS]  # type: ignore[valid-type]


class IngestionParams(_Group):
    """``ingestion`` (conf/base/parameters_ingestion.yml)."""

    source: Literal[SOURCES]  # type: ignore[valid-type]
    root: NonEmptyStr
    kinetics_video_dir: str | None
    group_column: str | None
    video_extensions: Annotated[list[Extension], Field(min_length=1)]
    progress: bool
    split: SplitParams
    synthetic: SyntheticParams
    # Announced (truncated files: accept what decodes, or reject) but not in conf/base yet: the
    # one field with a default, None = "not set"; make it required once the YAML carries it.
    truncated: Literal[TRUNCATED] | None = None  # type: ignore[valid-type]


# -------------------------------------------------------------------------------- preprocessing


class PreprocessingParams(_Group):
    """``preprocessing`` (conf/base/parameters_preprocessing.yml)."""

    strategy: Literal[STRATEGIES]  # type: ignore[valid-type]
    step: PositiveInt
    max_frames: PositiveInt | None
    num_frames: PositiveInt
    threshold: Fraction
    size: PositiveInt
    crop_offset: Annotated[list[Offset], Field(min_length=2, max_length=2)]
    preview_frames: PositiveInt


# --------------------------------------------------------------------------------- ssl_training


class SSLTrainingParams(_Group):
    """``ssl_training`` (conf/base/parameters_ssl_training.yml)."""

    seed: Seed
    device: Device
    splits: Annotated[list[Literal[SPLITS]], Field(min_length=1)]  # type: ignore[valid-type]
    arch: Annotated[str, AfterValidator(_resnet)]
    weights_path: str | None
    input_mode: Literal[INPUT_MODES]  # type: ignore[valid-type]
    input_size: Annotated[int, Field(ge=8)]
    diff_step: PositiveInt
    diff_gain: PositiveFloat
    norm: Literal[NORMS]  # type: ignore[valid-type]
    pool: Literal[POOLS]  # type: ignore[valid-type]
    roi: Literal[ROIS]  # type: ignore[valid-type]
    mirror: bool
    proj_dim: PositiveInt
    pred_hidden: PositiveInt
    epochs: PositiveInt
    batch_size: Annotated[int, Field(ge=2)]  # batch norm in the projector needs two samples
    optimizer: Literal[OPTIMIZERS]  # type: ignore[valid-type]
    lr: PositiveFloat
    weight_decay: NonNegativeFloat
    momentum: Fraction
    warmup_epochs: NonNegativeInt
    fix_pred_lr: bool
    crop_scale: Annotated[
        list[Annotated[float, Field(gt=0.0, le=1.0)]],
        Field(min_length=2, max_length=2),
        AfterValidator(_ordered_pair),
    ]
    flip: bool
    pair_gap: NonNegativeInt
    frames_per_clip: PositiveInt | None
    num_threads: PositiveInt | None
    loader_workers: NonNegativeInt
    prefetch: PositiveInt


# ------------------------------------------------------------------------------------ embedding


class MotionParams(_Group):
    """``embedding.motion``: the weight-free motion encoder."""

    grid: PositiveInt
    bins: Annotated[int, Field(ge=2)]
    pyr_scale: Annotated[float, Field(gt=0.0, lt=1.0)]
    levels: NonNegativeInt
    winsize: PositiveInt
    iterations: PositiveInt
    poly_n: PositiveInt
    poly_sigma: PositiveFloat
    mhi_threshold: NonNegativeFloat
    align_radius: NonNegativeInt
    flow_threshold: NonNegativeFloat
    diff_threshold: NonNegativeFloat
    diff_dilate: NonNegativeInt
    box_quantile: Annotated[float, Field(ge=0.0, lt=0.5)]
    box_margin: NonNegativeFloat
    pyramid: bool
    mirror: bool
    hu_moments: Annotated[int, Field(ge=0, le=7)]


class TorchvisionParams(_Group):
    """``embedding.torchvision``: a torchvision model from a local state dict."""

    model: Annotated[str, AfterValidator(_torchvision_model)]
    weights_path: str | None
    allow_random: bool
    input_size: PositiveInt | None
    clip_len: PositiveInt | None


class HFParams(_Group):
    """``embedding.hf``: a local Hugging Face video transformer."""

    path: str | None
    num_frames: PositiveInt | None


class EmbeddingParams(_Group):
    """``embedding`` (conf/base/parameters_embedding.yml)."""

    input: Literal["raw", "segmented"]
    encoder: Literal[ENCODER_NAMES]  # type: ignore[valid-type]
    device: Device
    num_frames: PositiveInt
    small_step: PositiveInt
    pooling: Literal[POOLINGS]  # type: ignore[valid-type]
    streams: Literal[STREAMS]  # type: ignore[valid-type]
    batch_size: PositiveInt
    num_threads: PositiveInt | None
    motion: MotionParams
    torchvision: TorchvisionParams
    hf: HFParams

    @model_validator(mode="after")
    def _encoder_inputs(self) -> EmbeddingParams:
        """The chosen encoder's own files must be named (nothing is downloaded)."""
        if self.encoder == "hf" and not self.hf.path:
            raise ValueError(
                "embedding.encoder=hf needs embedding.hf.path: a local save_pretrained folder"
            )
        tv = self.torchvision
        if self.encoder == "torchvision" and not (tv.weights_path or tv.allow_random):
            raise ValueError(
                "embedding.encoder=torchvision needs embedding.torchvision.weights_path: a local "
                "state-dict file (or allow_random: true, for tests only)"
            )
        return self


# ----------------------------------------------------------------------------------- clustering


class DescribeParams(_Group):
    """``clustering.describe``: contact sheets, previews and the cluster_labels.csv template."""

    n_centre: PositiveInt
    n_edge: NonNegativeInt
    frames_per_clip: PositiveInt
    preview_frames: PositiveInt
    preview_tile: Annotated[int, Field(ge=8)]
    preview_fps: PositiveFloat


class ClusteringParams(_Group):
    """``clustering`` (conf/base/parameters_clustering.yml); per-algorithm dicts stay free-form."""

    algorithm: Literal[ALGORITHMS]  # type: ignore[valid-type]
    k: PositiveInt | None
    k_range: Pair
    standardize: bool
    pca_components: Annotated[int | float | None, PlainValidator(_pca_components)]
    seed: Seed
    kmeans: dict[str, Any]
    agglomerative: dict[str, Any]
    gmm: dict[str, Any]
    hdbscan: dict[str, Any]
    describe: DescribeParams

    @field_validator("k_range")
    @classmethod
    def _reaches_two(cls, value: list[int]) -> list[int]:
        if value[1] < 2:
            raise ValueError(f"expected max_k >= 2 (a silhouette needs two clusters), got {value}")
        return value


# ------------------------------------------------------------------------------- classification


UnitRange = Annotated[
    list[Annotated[float, Field(gt=0.0)]], Field(min_length=2, max_length=2), AfterValidator(_ordered_pair)
]


class ClassifierTrainParams(_Group):
    """``classification.train``: the sequence models' training loop."""

    epochs: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat
    weight_decay: NonNegativeFloat
    patience: PositiveInt
    balance: bool


class SequenceAugmentParams(_Group):
    """``classification.augment``: random temporal crop and speed of training sequences."""

    crop: Annotated[UnitRange, AfterValidator(lambda v: _at_most_one(v, "crop"))]
    speed: UnitRange


def _at_most_one(value: list[float], name: str) -> list[float]:
    if value[1] > 1.0:
        raise ValueError(f"expected shares in (0, 1] for {name}, got {value}")
    return value


class TransformerParams(_Group):
    """``classification.transformer``."""

    d_model: PositiveInt
    layers: PositiveInt
    heads: PositiveInt
    dropout: Fraction
    max_len: PositiveInt

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerParams:
        if self.d_model % self.heads:
            raise ValueError(
                f"classification.transformer.heads={self.heads} must divide d_model={self.d_model}"
            )
        return self


class FrameAverageParams(_Group):
    """``classification.frame_avg``."""

    hidden: NonNegativeInt
    dropout: Fraction


class LinearParams(_Group):
    """``classification.linear``."""

    estimator: Literal[LINEAR_ESTIMATORS]  # type: ignore[valid-type]
    C: PositiveFloat
    max_iter: PositiveInt


class ClipParams(_Group):
    """``classification.clip``: windows and training loop of the clip models."""

    frames_per_clip: PositiveInt
    stride: PositiveInt
    input_size: Annotated[int, Field(ge=16)]
    views: PositiveInt
    windows: PositiveInt
    epochs: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat
    weight_decay: NonNegativeFloat
    patience: PositiveInt
    num_workers: NonNegativeInt


def _jitter(value: list[float]) -> list[float]:
    if value[3] > 0.5:
        raise ValueError(f"expected [brightness, contrast, saturation, hue] with hue <= 0.5, got {value}")
    return value


class AugmentStrengthParams(_Group):
    """The strengths of ``ClipAugment`` (``actionlab.models.augment.AUGMENT_FIELDS``), shared by
    ``classification.clip_augment`` and ``anomaly.augment``."""

    scale: Annotated[UnitRange, AfterValidator(lambda v: _at_most_one(v, "scale"))]
    flip_p: Fraction
    degrees: NonNegativeFloat
    jitter: Annotated[
        list[NonNegativeFloat], Field(min_length=4, max_length=4), AfterValidator(_jitter)
    ]
    jitter_p: Fraction
    blur_p: Fraction
    blur_sigma: UnitRange


class ClipAugmentParams(AugmentStrengthParams):
    """``classification.clip_augment``: one random transform per training clip."""

    enabled: bool


class CnnLstmParams(_Group):
    """``classification.cnn_lstm``."""

    hidden: PositiveInt
    layers: PositiveInt
    bidirectional: bool
    pooling: Literal[LSTM_POOLING]  # type: ignore[valid-type]
    dropout: Fraction
    input_mode: Literal[CLIP_INPUT_MODES]  # type: ignore[valid-type]
    weights_path: str | None


class Cnn3dParams(_Group):
    """``classification.cnn3d``."""

    arch: Literal[CNN3D_ARCHS]  # type: ignore[valid-type]
    dropout: Fraction
    input_mode: Literal[CLIP_INPUT_MODES]  # type: ignore[valid-type]
    weights_path: str | None


class ClassificationParams(_Group):
    """``classification`` (conf/base/parameters_classification.yml)."""

    models: Annotated[list[Literal[MODELS + CLIP_MODELS]], Field(min_length=1)]  # type: ignore[valid-type]
    cv: Literal[CV_MODES]  # type: ignore[valid-type]
    seed: Seed
    device: Device
    progress: bool
    registered_model_name: Annotated[str, Field(min_length=1)]
    val_share: Annotated[float, Field(ge=0.0, lt=1.0)]
    train: ClassifierTrainParams
    augment: SequenceAugmentParams
    transformer: TransformerParams
    frame_avg: FrameAverageParams
    linear: LinearParams
    clip: ClipParams
    clip_augment: ClipAugmentParams
    cnn_lstm: CnnLstmParams
    cnn3d: Cnn3dParams


# ------------------------------------------------------------------------------------ anomaly


class AnomalyThresholdParams(_Group):
    """``anomaly.threshold``."""

    rule: Literal["percentile", "f1", "youden"]
    percentile: Annotated[float, Field(ge=0.0, le=100.0)]
    competitive: NonEmptyStr | None

    @model_validator(mode="after")
    def _competitive_given(self) -> AnomalyThresholdParams:
        if self.rule != "percentile" and self.competitive is None:
            raise ValueError(f"anomaly.threshold.rule={self.rule} needs anomaly.threshold.competitive (a label or nearest)")
        return self


class AnomalyTrainParams(_Group):
    """``anomaly.train``: the autoencoder's training loop."""

    epochs: PositiveInt
    batch_size: PositiveInt
    lr: PositiveFloat
    weight_decay: NonNegativeFloat
    patience: PositiveInt
    val_share: Annotated[float, Field(gt=0.0, lt=1.0)]


class AnomalyAutoencoderParams(_Group):
    """``anomaly.autoencoder``."""

    hidden: Annotated[list[PositiveInt], Field(min_length=1)]
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)]
    reduction: Literal["mean", "sum"]


class AnomalyMahalanobisParams(_Group):
    """``anomaly.mahalanobis``."""

    scale_floor: NonNegativeFloat


class AnomalySequenceAutoencoderParams(_Group):
    """``anomaly.sequence_autoencoder``."""

    hidden: PositiveInt
    latent: PositiveInt
    layers: PositiveInt
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)]
    reduction: Literal["mean", "sum"]
    clip_reduction: Literal["mean", "max", "percentile"]
    clip_percentile: Annotated[float, Field(ge=0.0, le=100.0)]
    max_len: Annotated[int, Field(ge=2)]


class AnomalyAugmentParams(AugmentStrengthParams):
    """``anomaly.augment``: augmented copies of the target's correct train clips."""

    copies: NonNegativeInt
    flip_labels: list[NonEmptyStr]


class AnomalyKnnParams(_Group):
    """``anomaly.knn``."""

    k: PositiveInt
    scale_floor: NonNegativeFloat


class AnomalyIsolationForestParams(_Group):
    """``anomaly.isolation_forest``."""

    n_estimators: PositiveInt
    scale_floor: NonNegativeFloat


class AnomalyOcsvmParams(_Group):
    """``anomaly.ocsvm``."""

    nu: Annotated[float, Field(gt=0.0, le=1.0)]
    gamma: Literal["scale", "auto"] | PositiveFloat
    scale_floor: NonNegativeFloat


class AnomalyTimelineParams(_Group):
    """``anomaly.timeline`` (``actionlab score --timeline``)."""

    window: PositiveFloat | None
    stride: PositiveFloat | None


class AnomalyParams(_Group):
    """``anomaly`` (conf/base/parameters_anomaly.yml)."""

    target: NonEmptyStr
    models: Annotated[
        list[Literal["autoencoder", "sequence_autoencoder", "knn", "mahalanobis", "isolation_forest", "ocsvm"]],
        Field(min_length=1),
    ]
    threshold: AnomalyThresholdParams
    seed: Seed
    device: Device
    progress: bool
    frame_plot_clips: NonNegativeInt
    train: AnomalyTrainParams
    augment: AnomalyAugmentParams
    autoencoder: AnomalyAutoencoderParams
    mahalanobis: AnomalyMahalanobisParams
    sequence_autoencoder: AnomalySequenceAutoencoderParams
    knn: AnomalyKnnParams
    isolation_forest: AnomalyIsolationForestParams
    ocsvm: AnomalyOcsvmParams
    timeline: AnomalyTimelineParams


# ------------------------------------------------------------------------------------ inference


class TimelineParams(_Group):
    """``inference.timeline``."""

    window: PositiveFloat | None
    stride: PositiveFloat | None
    smoothing: PositiveInt
    min_duration: NonNegativeFloat
    background_threshold: Fraction | None


class InferenceParams(_Group):
    """``inference`` (conf/base/parameters_inference.yml)."""

    video: NonEmptyStr | None
    start: NonNegativeFloat | None
    end: PositiveFloat | None
    duration: PositiveFloat | None
    model: NonEmptyStr | None
    top_k: PositiveInt
    timeline: TimelineParams

    @model_validator(mode="after")
    def _one_end(self) -> InferenceParams:
        if self.end is not None and self.duration is not None:
            raise ValueError("inference.end and inference.duration both set; give one of them (or neither)")
        return self


# --------------------------------------------------------------------------------- segmentation


def _motion_section(value: dict[str, Any]) -> dict[str, Any]:
    from actionlab.segmentation.motion import check_motion_params  # the backend's own checks

    return check_motion_params(value)


class SegmentationParams(_Group):
    """``segmentation`` (conf/base/parameters_segmentation.yml). The ``motion`` section is checked
    by the motion backend's own rules; the SAM 2 sections (files, sizes) when their backend is
    built, at the start of ``segment_clips`` before any clip."""

    backend: Literal[BACKEND_NAMES]  # type: ignore[valid-type]
    device: Device
    chunk_frames: PositiveInt
    background: Annotated[int, Field(ge=0, le=255)]
    report_videos: NonNegativeInt | None
    contact_sheet_frames: PositiveInt
    motion: Annotated[dict[str, Any], AfterValidator(_motion_section)]
    sam2: dict[str, Any]
    grounded_sam2: dict[str, Any]
    sam2_oversegment: dict[str, Any]


GROUPS: dict[str, type[BaseModel]] = {
    "ingestion": IngestionParams,
    "preprocessing": PreprocessingParams,
    "segmentation": SegmentationParams,
    "ssl_training": SSLTrainingParams,
    "embedding": EmbeddingParams,
    "clustering": ClusteringParams,
    "classification": ClassificationParams,
    "anomaly": AnomalyParams,
    "inference": InferenceParams,
    "runtime": RuntimeConfig,
}
FILES = {group: f"conf/base/parameters_{group}.yml" for group in GROUPS} | {
    "runtime": "conf/base/parameters.yml"
}


class ParameterError(ValueError):
    """One or more parameters are wrong; ``problems`` holds one line per wrong parameter."""

    def __init__(self, problems: Sequence[str], groups: Sequence[str]) -> None:
        self.problems = list(problems)
        files = ", ".join(FILES[g] for g in dict.fromkeys(groups))
        its = "their" if len(set(groups)) > 1 else "its"
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(
            f"{len(self.problems)} invalid parameter{'s' if len(self.problems) > 1 else ''}; "
            f"nothing was run:\n{lines}\n"
            f"Fix the value in {files} (or {its} override in conf/local/), or in the "
            '--params "group.key=value" you passed.'
        )


def _show(value: Any) -> str:
    """A value as the user wrote it in YAML or --params (null, true, 'text', [1, 2])."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _model_at(schema: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The (nested) schema at ``loc``, or None when ``loc`` is a plain value."""
    model = schema
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _describe(group: str, schema: type[BaseModel], error: Mapping[str, Any]) -> str:
    """One pydantic error as ``group.key = value: what is allowed``."""
    loc = [part for part in error["loc"] if part != "[key]"]
    name = group
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    message = str(error["msg"]).removeprefix("Value error, ")
    kind = error["type"]
    if kind == "missing":
        return f"{name}: missing; every key of the group must be set ({message})"
    if kind == "extra_forbidden":
        parent = _model_at(schema, loc[:-1])
        known = ", ".join(parent.model_fields) if parent else "?"
        return f"{name} = {_show(error['input'])}: unknown key; known keys: {known}"
    if kind == "value_error" and _model_at(schema, loc):
        return f"{name}: {message}"  # a check across keys: the message names them
    if kind == "value_error" and message.startswith(f"{name}."):
        return message  # a section checked by its own rules (segmentation.motion): it names the key
    return f"{name} = {_show(error['input'])}: {message}"


def check_parameters(params: Mapping[str, Any]) -> dict[str, BaseModel]:
    """Validate every known parameter group in ``params``; return the checked models by group.

    Raises ``ParameterError`` listing every problem of every group at once. Groups not in
    ``GROUPS`` are left alone; a known group that is absent is not checked.
    """
    checked: dict[str, BaseModel] = {}
    problems: list[str] = []
    bad_groups: list[str] = []
    for group, schema in GROUPS.items():
        if group not in params:
            continue
        try:
            checked[group] = schema.model_validate(params[group])
        except ValidationError as err:
            problems += [_describe(group, schema, e) for e in err.errors()]
            bad_groups.append(group)
    if problems:
        raise ParameterError(problems, bad_groups)
    return checked
