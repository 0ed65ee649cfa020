"""ONNX export of the trained classifiers, for deployment without Python (no kedro).

``export_classifier`` turns a saved classifier (the ``.pt`` blob of
``actionlab.models.compare.classifier_blob``) into one self-contained ``.onnx`` file:

- ``transformer`` and ``frame_avg``: inputs ``features`` ``(batch, time, D)`` float32 (the per-frame
  features, zero-padded) and ``mask`` ``(batch, time)`` bool (True = a real frame; the real frames
  of each row come first); output ``probabilities`` ``(batch, classes)``: the same numbers as
  ``predict_sequences``. Batch and time are dynamic; a sequence longer than the transformer's
  ``max_len`` is resampled to ``max_len`` frames inside the graph, exactly as in torch.
- ``linear`` (scikit-learn logistic regression, via skl2onnx): input ``embedding`` ``(batch, D)``
  float32, outputs ``label`` and ``probabilities``.

The file's ``metadata_props`` hold, as JSON strings: ``classes`` (the class names in output order),
``lineage`` (what the features came from), ``model``, ``config``, ``input`` and ``output``.
Needs the ``export`` extra (onnx, onnxscript; skl2onnx for ``linear``), so it is imported on its own,
not from ``actionlab.inference``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

try:
    import onnx
except ImportError as exc:  # an optional extra: the rest of actionlab runs without it
    raise ImportError("ONNX export needs the `export` extra: pip install 'actionlab[export]'") from exc
from torch import nn

from actionlab.models.classifiers import EMBEDDING_MODELS, SEQUENCE_MODELS, pad_batch
from actionlab.models.compare import classifier_from_blob

logger = logging.getLogger(__name__)
EXPORTABLE = SEQUENCE_MODELS + EMBEDDING_MODELS
DEFAULT_OPSET = 18  # the opset torch's dynamo exporter writes natively (torchlib)
OUTPUT = "probabilities"


class ExportError(ValueError):
    """A classifier that cannot be exported; the message names the problem and the fix."""


def load_blob(blob_or_path: dict[str, Any] | str | Path) -> dict[str, Any]:
    """A classifier blob, given as the dict itself or the path of its ``.pt`` file."""
    if isinstance(blob_or_path, dict):
        return blob_or_path
    path = Path(blob_or_path)
    if not path.is_file():
        raise ExportError(
            f"model file {str(path)!r} not found; give a classifier saved by the classification "
            "pipeline, e.g. data/06_models/classifiers/transformer.pt"
        )
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # not a torch file, or one with pickled code
        raise ExportError(
            f"{str(path)!r} is not a saved classifier ({exc.__class__.__name__}: {exc})"
        ) from exc
    if not isinstance(blob, dict) or "model" not in blob or "state_dict" not in blob:
        raise ExportError(f"{str(path)!r} is not a saved classifier (no model name and state)")
    return blob


def resample_in_graph(
    x: torch.Tensor, mask: torch.Tensor, max_len: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every row's real frames (a prefix of ``n`` frames) as ``max_len`` frames: rows with
    ``n > max_len`` resampled at ``round(k * (n - 1) / (max_len - 1))`` like ``resample_indices``
    (float64, so the indices are numpy's), shorter rows kept and zero-padded. Traceable: no loop
    and no branch on the data."""
    n = mask.sum(1)  # (B,)
    j = torch.arange(max_len, device=x.device)
    step = (n.to(torch.float64) - 1).clamp_min(0) / max(max_len - 1, 1)
    spread = torch.round(j.to(torch.float64)[None] * step[:, None]).to(torch.int64)
    idx = torch.where(n[:, None] > max_len, spread, j[None]).clamp_max(x.shape[1] - 1)
    valid = j[None] < n.clamp_max(max_len)[:, None]
    rows = x.gather(1, idx.unsqueeze(-1).expand(-1, -1, x.shape[2]))
    return rows * valid.unsqueeze(-1).to(x.dtype), valid


class SequenceProbabilities(nn.Module):
    """A sequence classifier as exported: ``(features, mask)`` -> class probabilities."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.max_len = int(getattr(model, "max_len", 0) or 0)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.max_len:  # always max_len frames, so the model never branches on the length
            features, mask = resample_in_graph(features, mask, self.max_len)
        return self.model(features, mask).softmax(-1)


def prepare_sequences(sequences: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """The exported graph's inputs for sequences ``(T_i, D)``: ``features`` zero-padded to the
    longest and ``mask`` (True = a real frame). Resampling is done by the graph itself."""
    longest = max(len(s) for s in sequences)
    features, mask = pad_batch(sequences, longest)
    return {"features": features.numpy(), "mask": mask.numpy()}


def _export_sequence(blob: dict[str, Any], opset: int) -> onnx.ModelProto:
    wrapper = SequenceProbabilities(classifier_from_blob(blob)).eval()
    in_dim = int(blob["config"]["in_dim"])
    gen = torch.Generator().manual_seed(0)
    example = (
        torch.randn(2, 3, in_dim, generator=gen),
        torch.tensor([[True] * 3, [True, True, False]]),
    )
    batch, time = torch.export.Dim("batch"), torch.export.Dim("time")
    with torch.no_grad(), warnings.catch_warnings():
        # the exporter notes that the shared `time` axis of both inputs is named once
        warnings.filterwarnings("ignore", r"# The axis name: .* will not be used", UserWarning)
        program = torch.onnx.export(
            wrapper, example, input_names=["features", "mask"], output_names=[OUTPUT],
            opset_version=opset, dynamo=True, external_data=False, verbose=False,
            dynamic_shapes={"features": {0: batch, 1: time}, "mask": {0: batch, 1: time}},
        )  # fmt: skip
    assert program is not None
    model = program.model_proto
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        if not (dims[0].dim_param and dims[1].dim_param):  # a size fixed by the trace
            raise ExportError(
                f"the export fixed the batch or time size of {value.name!r} (an exporter bug: please report it)"
            )
    return model


def _export_linear(blob: dict[str, Any], opset: int) -> onnx.ModelProto:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    pipeline = classifier_from_blob(blob)
    head = pipeline[-1]
    if not hasattr(head, "predict_proba"):
        raise ExportError(
            "only the logistic-regression linear model exports to ONNX (a linear SVM gives "
            "uncalibrated scores); train it with classification.linear.estimator=logistic"
        )
    if len(head.classes_) != len(blob["classes"]):
        raise ExportError(
            "the linear model saw only some of the classes in training; it cannot be exported"
        )
    dim = int(head.coef_.shape[1])
    return convert_sklearn(
        pipeline, initial_types=[("embedding", FloatTensorType([None, dim]))],
        options={id(head): {"zipmap": False}}, target_opset={"": opset, "ai.onnx.ml": 3},
        final_types=None, naming=None,
    )  # fmt: skip


def export_classifier(
    blob_or_path: dict[str, Any] | str | Path, out_path: str | Path, *, opset: int = DEFAULT_OPSET
) -> Path:
    """Write the classifier (a blob or its ``.pt`` path) as an ONNX file at ``out_path``, checked
    with ``onnx.checker``; the class names and lineage go into its metadata. Returns the path."""
    blob = load_blob(blob_or_path)
    name = blob["model"]
    if name not in EXPORTABLE:
        raise ExportError(
            f"model {name!r} cannot be exported to ONNX; exportable models: {EXPORTABLE}"
        )
    if name in SEQUENCE_MODELS:
        model = _export_sequence(blob, opset)
        inputs = {
            "features": "(batch, time, D) float32, zero-padded",
            "mask": "(batch, time) bool, True = a real frame",
        }
    else:
        model = _export_linear(blob, opset)
        inputs = {"embedding": "(batch, D) float32"}
    props = {
        "model": name, "classes": list(blob["classes"]), "lineage": blob.get("lineage", {}),
        "config": blob.get("config", {}), "input": inputs, "output": f"{OUTPUT} (batch, classes)",
    }  # fmt: skip
    onnx.helper.set_model_props(model, {k: json.dumps(v, default=str) for k, v in props.items()})
    model.producer_name = "actionlab"
    onnx.checker.check_model(model)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, out)
    return out


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata written by ``export_classifier`` (``classes``, ``lineage``, ...)."""
    model = onnx.load(str(path), load_external_data=False)
    return {p.key: json.loads(p.value) for p in model.metadata_props}


def export_main(argv: Sequence[str] | None = None) -> int:
    """``actionlab export MODEL_FILE OUT.onnx [--opset N]``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="actionlab export",
        description="Export a trained classifier to ONNX (run it with onnxruntime).",
    )
    parser.add_argument(
        "model_file", help="a saved classifier, e.g. data/06_models/classifiers/transformer.pt"
    )
    parser.add_argument("out", help="the .onnx file to write")
    parser.add_argument(
        "--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})"
    )
    args = parser.parse_args(argv)
    try:
        out = export_classifier(args.model_file, args.out, opset=args.opset)
    except ExportError as exc:
        print(f"actionlab export: error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    meta = read_metadata(out)
    print(f"wrote {out} ({meta['model']}, classes: {', '.join(meta['classes'])})")  # noqa: T201
    return 0


__all__ = [
    "DEFAULT_OPSET", "EXPORTABLE", "ExportError", "SequenceProbabilities", "export_classifier",
    "export_main", "load_blob", "prepare_sequences", "read_metadata", "resample_in_graph",
]  # fmt: skip
