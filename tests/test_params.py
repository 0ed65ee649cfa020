"""Parameter schemas: the shipped parameters pass; a wrong one is refused, by name, before a run."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from omegaconf import OmegaConf

from actionlab.params import GROUPS, ParameterError, check_parameters
from tests.pipelines.conftest import FAST_PARAMS, make_project, run_pipelines

REPO = Path(__file__).resolve().parents[1]


def _shipped() -> dict[str, Any]:
    """conf/base/parameters*.yml merged, as Kedro's config loader sees them."""
    files = sorted((REPO / "conf" / "base").glob("parameters*.yml"))
    merged = OmegaConf.merge(*(OmegaConf.load(f) for f in files))
    return OmegaConf.to_container(merged)  # type: ignore[return-value]


def _with(dotted: str, value: Any) -> dict[str, Any]:
    """The shipped parameters with one (dotted) key set, as ``--params dotted=value`` does."""
    params = copy.deepcopy(_shipped())
    *parents, last = dotted.split(".")
    node = params
    for part in parents:
        node = node[part]
    node[last] = value
    return params


def _problems(params: dict[str, Any]) -> list[str]:
    with pytest.raises(ParameterError) as info:
        check_parameters(params)
    return info.value.problems


def test_shipped_parameters_validate_every_group():
    checked = check_parameters(_shipped())
    assert set(checked) == set(GROUPS)
    assert checked["preprocessing"].size == 128
    assert checked["runtime"].executor == "processes"
    assert checked["embedding"].motion.hu_moments == 0
    assert checked["clustering"].hdbscan == {"min_cluster_size": 3}


def test_the_test_suites_fast_overrides_validate():
    merged = OmegaConf.to_container(OmegaConf.merge(_shipped(), FAST_PARAMS))
    assert set(check_parameters(merged)) == set(GROUPS)


@pytest.mark.parametrize(
    ("dotted", "value", "expected"),
    [
        ("ingestion.source", "youtube", "ingestion.source = 'youtube': Input should be 'synthetic', 'folder', 'labels_csv', 'kinetics_csv' or 'cluster_labels'"),
        ("ingestion.truncated", "maybe", "ingestion.truncated = 'maybe': Input should be 'accept' or 'reject'"),
        ("ingestion.split.fractions", {"train": 0.5, "val": 0.2, "test": 0.2}, "ingestion.split.fractions = {'train': 0.5, 'val': 0.2, 'test': 0.2}: expected fractions that sum to 1, they sum to 0.9"),
        ("ingestion.split.seed", -1, "ingestion.split.seed = -1: Input should be greater than or equal to 0"),
        ("ingestion.synthetic.num_actors", 0, "ingestion.synthetic.num_actors = 0: Input should be greater than 0"),
        ("ingestion.video_extensions", ["mp4"], "ingestion.video_extensions[0] = 'mp4': String should match pattern"),
        ("preprocessing.size", -5, "preprocessing.size = -5: Input should be greater than 0"),
        ("preprocessing.size", "big", "preprocessing.size = 'big': Input should be a valid integer"),
        ("preprocessing.strategy", "random", "preprocessing.strategy = 'random': Input should be 'uniform', 'step', 'large_step', 'all' or 'cosine'"),
        ("preprocessing.crop_offset", [0.0, 1.5], "preprocessing.crop_offset[1] = 1.5: Input should be less than or equal to 1"),
        ("preprocessing.threshold", 1.5, "preprocessing.threshold = 1.5: Input should be less than or equal to 1"),
        ("ssl_training.optimizer", "rmsprop", "ssl_training.optimizer = 'rmsprop': Input should be 'sgd' or 'adam'"),
        ("ssl_training.input_mode", "flow", "ssl_training.input_mode = 'flow': Input should be 'rgb', 'diff' or 'diff_rgb'"),
        ("ssl_training.arch", "vgg16", "ssl_training.arch = 'vgg16': expected a torchvision ResNet: "),
        ("ssl_training.crop_scale", [0.9, 0.2], "ssl_training.crop_scale = [0.9, 0.2]: expected [min, max] with min <= max"),
        ("ssl_training.splits", ["train", "dev"], "ssl_training.splits[1] = 'dev': Input should be 'train', 'val' or 'test'"),
        ("ssl_training.device", "gpu", "ssl_training.device = 'gpu': expected auto, cpu, cuda or cuda:N"),
        ("embedding.encoder", "clip", "embedding.encoder = 'clip': Input should be 'ssl', 'motion', 'torchvision' or 'hf'"),
        ("embedding.pooling", "median", "embedding.pooling = 'median': Input should be 'max', 'mean' or 'meanstd'"),
        ("embedding.motion.hu_moments", 8, "embedding.motion.hu_moments = 8: Input should be less than or equal to 7"),
        ("embedding.motion.box_quantile", 0.5, "embedding.motion.box_quantile = 0.5: Input should be less than 0.5"),
        ("embedding.torchvision.model", "resnet1000", "embedding.torchvision.model = 'resnet1000': expected a torchvision video model"),
        ("embedding.encoder", "hf", "embedding: embedding.encoder=hf needs embedding.hf.path"),
        ("clustering.algorithm", "dbscan", "clustering.algorithm = 'dbscan': Input should be 'kmeans', 'agglomerative', 'gmm' or 'hdbscan'"),
        ("clustering.pca_components", 1.5, "clustering.pca_components = 1.5: expected null (all features), an int >= 1 (components) or a float in (0, 1)"),
        ("clustering.pca_components", 0, "clustering.pca_components = 0: expected null"),
        ("clustering.pca_components", True, "clustering.pca_components = true: expected null"),
        ("clustering.k", 0, "clustering.k = 0: Input should be greater than 0"),
        ("clustering.k_range", [1], "clustering.k_range = [1]: List should have at least 2 items"),
        ("clustering.gmm", "full", "clustering.gmm = 'full': Input should be a valid dictionary"),
        ("classification.cv", "kfold", "classification.cv = 'kfold': Input should be 'split' or 'group'"),
        ("classification.models", ["transformer", "svm"], "classification.models[1] = 'svm': Input should be 'transformer', 'frame_avg', 'linear', 'cnn_lstm' or 'cnn3d'"),
        ("classification.cnn3d.arch", "resnet18", "classification.cnn3d.arch = 'resnet18': Input should be 'r2plus1d_18', 'r3d_18' or 'mc3_18'"),
        ("classification.clip.views", 0, "classification.clip.views = 0: Input should be greater than 0"),
        ("classification.clip_augment.jitter", [0.3, 0.3, 0.3, 0.8], "classification.clip_augment.jitter = [0.3, 0.3, 0.3, 0.8]: expected [brightness, contrast, saturation, hue] with hue <= 0.5"),
        ("classification.transformer.heads", 3, "classification.transformer: classification.transformer.heads=3 must divide d_model=128"),
        ("classification.augment.crop", [0.5, 1.5], "classification.augment.crop = [0.5, 1.5]: expected shares in (0, 1]"),
        ("classification.device", "gpu", "classification.device = 'gpu': expected auto, cpu, cuda or cuda:N"),
        ("runtime.executor", "threads", "runtime.executor = 'threads': Input should be 'sequential', 'processes' or 'dask'"),
        ("runtime.workers", 0, "runtime.workers = 0: Input should be greater than 0"),
    ],
)  # fmt: skip
def test_a_wrong_value_names_the_dotted_key_the_value_and_what_is_allowed(dotted, value, expected):
    problems = _problems(_with(dotted, value))
    assert len(problems) == 1
    assert problems[0].startswith(expected)


@pytest.mark.parametrize(
    ("dotted", "value"),
    [
        ("ingestion.truncated", "reject"),
        ("ingestion.group_column", None),
        ("ingestion.split.fractions", {"train": 0.8, "test": 0.2}),
        ("preprocessing.max_frames", None),
        ("preprocessing.crop_offset", [-1, 1]),
        ("ssl_training.device", "cuda:1"),
        ("ssl_training.arch", "resnet50"),
        ("ssl_training.frames_per_clip", None),
        ("embedding.encoder", "motion"),
        ("embedding.motion.hu_moments", 7),
        ("embedding.torchvision.model", "r3d_18"),
        ("clustering.pca_components", None),
        ("clustering.pca_components", 5),
        ("clustering.pca_components", 0.95),
        ("clustering.k", 6),
        ("clustering.gmm", {"covariance_type": "full"}),
        ("classification.cv", "group"),
        ("classification.linear.estimator", "svm"),
        ("classification.models", ["cnn_lstm", "cnn3d", "linear"]),
        ("classification.cnn_lstm.weights_path", "weights/resnet18.pth"),
        ("classification.cnn3d.arch", "mc3_18"),
        ("runtime.executor", "dask"),
    ],
)
def test_legal_alternatives_pass(dotted, value):
    check_parameters(_with(dotted, value))


def test_a_typo_key_is_refused_with_the_known_keys():
    params = _shipped()
    params["preprocessing"]["sise"] = 64
    params["embedding"]["motion"]["bin"] = 4
    problems = _problems(params)
    assert problems == [
        "preprocessing.sise = 64: unknown key; known keys: strategy, step, max_frames, num_frames, "
        "threshold, size, crop_offset, preview_frames",
        "embedding.motion.bin = 4: unknown key; known keys: grid, bins, pyr_scale, levels, winsize, "
        "iterations, poly_n, poly_sigma, mhi_threshold, align_radius, flow_threshold, "
        "diff_threshold, diff_dilate, box_quantile, box_margin, pyramid, mirror, hu_moments",
    ]


def test_a_missing_key_is_refused():
    params = _shipped()
    del params["ssl_training"]["lr"]
    assert _problems(params) == [
        "ssl_training.lr: missing; every key of the group must be set (Field required)"
    ]


def test_every_problem_is_listed_in_one_error_with_the_files_to_fix():
    params = _shipped()
    params["preprocessing"]["size"] = -5
    params["preprocessing"]["strategy"] = "random"
    params["clustering"]["seed"] = "zero"
    params["runtime"]["item_timeout_s"] = -1
    with pytest.raises(ParameterError) as info:
        check_parameters(params)
    message = str(info.value)
    assert message.splitlines()[0] == "4 invalid parameters; nothing was run:"
    for line in (
        "  preprocessing.strategy = 'random': ",
        "  preprocessing.size = -5: Input should be greater than 0",
        "  clustering.seed = 'zero': Input should be a valid integer",
        "  runtime.item_timeout_s = -1: Input should be greater than 0",
    ):
        assert line in message
    assert "conf/base/parameters_preprocessing.yml" in message
    assert "conf/base/parameters_clustering.yml" in message
    assert "conf/base/parameters.yml" in message
    assert "conf/base/parameters_embedding.yml" not in message
    assert "(or their override in conf/local/)" in message
    assert "--params" in message
    assert isinstance(info.value, ValueError)


def test_unknown_groups_pass_unchecked_and_absent_groups_are_skipped():
    checked = check_parameters(
        {"preprocessing": _shipped()["preprocessing"], "future_pipeline": {"x": -1}}
    )
    assert set(checked) == {"preprocessing"}
    assert check_parameters({}) == {}


def test_a_group_that_is_not_a_mapping_is_refused():
    assert _problems({"preprocessing": 5}) == [
        "preprocessing = 5: Input should be a valid dictionary or instance of PreprocessingParams"
    ]


def test_bad_params_stop_a_kedro_run_before_any_node(tmp_path, monkeypatch):
    """Through a real KedroSession (project hooks, kedro-mlflow): nothing is written."""
    project = make_project(tmp_path / "project")
    monkeypatch.chdir(project)
    params = copy.deepcopy(FAST_PARAMS)
    params["preprocessing"]["size"] = -5
    # ingestion would write the synthetic videos to data/01_raw first if any node ran
    with pytest.raises(ParameterError, match=r"preprocessing\.size = -5: Input should be greater"):
        run_pipelines(project, ["ingestion", "preprocessing"], params)
    assert [p for p in (project / "data").rglob("*") if p.is_file()] == []
    assert not (project / "mlflow.db").exists()  # kedro-mlflow had not set up its store yet


def test_good_params_pass_the_hook_of_a_kedro_session(tmp_path, monkeypatch):
    project = make_project(tmp_path / "project")
    monkeypatch.chdir(project)
    bootstrap_project(project)
    with KedroSession.create(project_path=project, runtime_params=FAST_PARAMS) as session:
        context = session.load_context()  # fires after_context_created
    assert context.params["preprocessing"]["size"] == 64


def test_segmentation_names_the_bad_backend_and_the_bad_motion_key():
    assert _problems(_with("segmentation.backend", "sam3")) == [
        "segmentation.backend = 'sam3': Input should be 'motion', 'grounded_sam2' or 'sam2_oversegment'"
    ]
    (problem,) = _problems(_with("segmentation.motion.history", -2))
    assert problem.startswith("segmentation.motion.history=-2: expected a value in [")
    (problem,) = _problems(_with("segmentation.background", 300))
    assert problem.startswith("segmentation.background = 300:")
