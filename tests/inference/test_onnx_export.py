"""ONNX export of the classifiers: onnxruntime's probabilities against torch's on sequences
shorter than, as long as and longer than the transformer's max_len, and on padded batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("onnxruntime")
import onnxruntime as ort  # noqa: E402

from actionlab.inference.onnx_export import (  # noqa: E402
    ExportError,
    export_classifier,
    export_main,
    prepare_sequences,
    read_metadata,
    resample_in_graph,
)
from actionlab.models.classifiers import (  # noqa: E402
    build_sequence_model,
    linear_classifier,
    linear_proba,
    resample_indices,
)
from actionlab.models.compare import Fitted, classifier_blob, classifier_from_blob  # noqa: E402
from actionlab.models.train_classifier import predict_sequences  # noqa: E402

CLASSES = ["clap", "run", "wave"]
DIM = 6
MAX_LEN = 5  # (n - 1) / 4 hits exact halves (n = 7: 1.5, 4.5), where round-half-even matters
LINEAGE = {"encoder": "motion", "fingerprint": "abc123"}
CONFIGS = {
    "transformer": {"d_model": 16, "layers": 2, "heads": 2, "dropout": 0.1, "max_len": MAX_LEN},
    "frame_avg": {"hidden": 16, "dropout": 0.1},
}
LENGTH_CASES = {
    "shorter": [3],
    "equal": [MAX_LEN],
    "longer": [13],
    "padded batch": [2, MAX_LEN, 7, 13, 1],
}


def _blob(name: str) -> dict:
    """A seeded, randomly initialised model with standardisation statistics fitted on frames
    far from N(0, 1), and larger head weights so that its probabilities are far from uniform."""
    torch.manual_seed(0)
    model = build_sequence_model(name, DIM, len(CLASSES), dict(CONFIGS[name]))
    frames = np.random.default_rng(1).normal(3.0, 2.0, size=(200, DIM)).astype(np.float32)
    model.norm_in.fit(frames)
    with torch.no_grad():
        head = model.head if name == "transformer" else model.mlp[-1]
        head.weight.mul_(8.0)
    return classifier_blob(Fitted(name, model.eval(), pd.DataFrame(), 0.0), CLASSES, LINEAGE, {})


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, Path]]:
    """Each sequence model's blob and its ONNX file (exported once: a few seconds each)."""
    out = tmp_path_factory.mktemp("onnx")
    return {name: (_blob(name), export_classifier(_blob(name), out / f"{name}.onnx")) for name in CONFIGS}


def _sequences(lengths: list[int], seed: int = 2) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(3.0, 2.0, size=(n, DIM)).astype(np.float32) for n in lengths]


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("case", sorted(LENGTH_CASES))
def test_onnxruntime_matches_torch(exported: dict, name: str, case: str) -> None:
    blob, path = exported[name]
    sequences = _sequences(LENGTH_CASES[case])
    expected = predict_sequences(classifier_from_blob(blob), sequences)  # resamples in numpy
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(["probabilities"], prepare_sequences(sequences))
    assert got.shape == (len(sequences), len(CLASSES))
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    assert expected.max() - expected.min() > 0.1  # the comparison is not between uniform outputs


def test_longer_sequence_is_resampled_not_truncated(exported: dict) -> None:
    """A 13-frame sequence gives what its 5 resampled frames give, not its first 5 frames."""
    _, path = exported["transformer"]
    (seq,) = _sequences([13], seed=3)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(s: np.ndarray) -> np.ndarray:
        return session.run(["probabilities"], prepare_sequences([s]))[0]

    np.testing.assert_allclose(run(seq), run(seq[resample_indices(13, MAX_LEN)]), atol=1e-5)
    assert np.abs(run(seq) - run(seq[:MAX_LEN])).max() > 1e-3


@pytest.mark.parametrize("max_len", [1, 5, 8])
def test_resample_in_graph_picks_numpys_frames(max_len: int) -> None:
    lengths = list(range(1, 41))
    longest = max(lengths)
    # each frame's feature is its own index, so the gathered values are the chosen indices
    frames = torch.arange(longest, dtype=torch.float32).repeat(len(lengths), 1).unsqueeze(-1)
    mask = torch.arange(longest)[None] < torch.tensor(lengths)[:, None]
    rows, valid = resample_in_graph(frames, mask, max_len)
    for i, n in enumerate(lengths):
        expected = resample_indices(n, max_len) if n > max_len else np.arange(n)
        assert valid[i].sum() == len(expected)
        np.testing.assert_array_equal(rows[i, : len(expected), 0].numpy(), expected)
        assert (rows[i, len(expected) :] == 0).all()


def test_metadata_carries_classes_and_lineage(exported: dict) -> None:
    _, path = exported["transformer"]
    meta = read_metadata(path)
    assert meta["classes"] == CLASSES
    assert meta["lineage"] == LINEAGE
    assert meta["model"] == "transformer"
    assert meta["config"]["max_len"] == MAX_LEN
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["features", "mask"]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]


def test_export_main_from_a_saved_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model_file = tmp_path / "frame_avg.pt"
    torch.save(_blob("frame_avg"), model_file)
    out = tmp_path / "deploy" / "frame_avg.onnx"
    assert export_main([str(model_file), str(out)]) == 0
    assert "clap, run, wave" in capsys.readouterr().out
    assert read_metadata(out)["classes"] == CLASSES
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    sequences = _sequences([4, 9])
    (got,) = session.run(None, prepare_sequences(sequences))
    expected = predict_sequences(classifier_from_blob(_blob("frame_avg")), sequences)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "nope.pt"
    with pytest.raises(ExportError, match="not found"):
        export_classifier(missing, tmp_path / "out.onnx")
    assert export_main([str(missing), str(tmp_path / "out.onnx")]) == 2
    assert "nope.pt" in capsys.readouterr().err
    assert not (tmp_path / "out.onnx").exists()


def test_not_a_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.pt"
    bogus.write_text("not a model")
    with pytest.raises(ExportError, match="not a saved classifier"):
        export_classifier(bogus, tmp_path / "out.onnx")


def test_unsupported_model_is_a_clear_error(tmp_path: Path) -> None:
    blob = {**_blob("frame_avg"), "model": "cnn_lstm"}
    with pytest.raises(ExportError, match="'cnn_lstm' cannot be exported"):
        export_classifier(blob, tmp_path / "out.onnx")
    assert not (tmp_path / "out.onnx").exists()


def _linear_blob(estimator: str) -> tuple[dict, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, DIM)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)  # 3 classes, learnable
    model = linear_classifier(estimator).fit(X, y)
    params = {"linear": {"estimator": estimator, "C": 1.0, "max_iter": 2000}, "seed": 0}
    return classifier_blob(Fitted("linear", model, pd.DataFrame(), 0.0), CLASSES, LINEAGE, params), X


def test_linear_logistic_matches_scikit_learn(tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx")
    blob, X = _linear_blob("logistic")
    path = export_classifier(blob, tmp_path / "linear.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    label, proba = session.run(["label", "probabilities"], {"embedding": X})
    model = classifier_from_blob(blob)
    np.testing.assert_allclose(proba, linear_proba(model, X), atol=1e-4, rtol=0)
    np.testing.assert_array_equal(label, model.predict(X))
    assert read_metadata(path)["classes"] == CLASSES


def test_linear_svm_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx")
    blob, _ = _linear_blob("svm")
    with pytest.raises(ExportError, match="estimator=logistic"):
        export_classifier(blob, tmp_path / "linear.onnx")
