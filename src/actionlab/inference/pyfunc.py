"""A classifier as an MLflow pyfunc model: video paths in, top-k labels and probabilities out.

The model's artifacts are the classifier blob (``classifier``, the ``.pt`` file the
classification pipeline saves) and, when its features came from the SSL encoder, that encoder's
file (``ssl_encoder``), so the logged model holds everything inference needs; the code is this
package's :class:`~actionlab.inference.predictor.Predictor` (the serving environment has
actionlab installed). ``mlflow models serve -m models:/<name>/<version>`` then answers

    POST /invocations  {"dataframe_records": [{"path": "/videos/a.mp4", "start": 1.0}]}

with one row per input row and rank: ``row, path, rank, label, probability``.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import torch
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

from actionlab.inference.predictor import Predictor, lineage_params
from actionlab.models import load_frame_encoder

__all__ = ["ClassifierModel", "DEFAULT_TOP_K", "SIGNATURE", "log_classifier", "register_best"]

DEFAULT_TOP_K = 3  # labels per video when the request has no top_k param
RANGE_COLUMNS = ("start", "end", "duration")  # seconds, optional per row
SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", "path"), *(ColSpec("double", c, required=False) for c in RANGE_COLUMNS)]),
    outputs=Schema([ColSpec("long", "row"), ColSpec("string", "path"), ColSpec("long", "rank"),
                    ColSpec("string", "label"), ColSpec("double", "probability")]),  # fmt: skip
    params=ParamSchema([ParamSpec("top_k", "long", DEFAULT_TOP_K)]),
)


def _value(row: pd.Series, key: str) -> float | None:
    value = row.get(key)
    return None if value is None or pd.isna(value) else float(value)


class ClassifierModel(mlflow.pyfunc.PythonModel):
    """The pyfunc wrapper around :class:`Predictor` (built once, in ``load_context``)."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        blob = torch.load(context.artifacts["classifier"], map_location="cpu", weights_only=True)
        ssl_path = context.artifacts.get("ssl_encoder")
        ssl = load_frame_encoder(ssl_path) if ssl_path else None
        self.predictor = Predictor.from_blob(blob, ssl_encoder=ssl)

    def predict(
        self, context: mlflow.pyfunc.PythonModelContext, model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """Top-k rows (row, path, rank, label, probability) for each input row (``path`` and
        optional ``start`` / ``end`` | ``duration`` seconds)."""
        top_k = int((params or {}).get("top_k") or DEFAULT_TOP_K)
        frames = []
        for i, (_, row) in enumerate(model_input.iterrows()):
            path = str(row["path"])
            best = self.predictor.predict(
                path, _value(row, "start"), _value(row, "end"), _value(row, "duration"), top_k=top_k
            )
            frames.append(pd.DataFrame(
                {"row": i, "path": path, "rank": range(1, len(best) + 1),
                 "label": [label for label, _ in best], "probability": [p for _, p in best]}
            ))  # fmt: skip
        return pd.concat(frames, ignore_index=True)


def log_classifier(
    blob: dict[str, Any], path: str | Path, name: str, *, ssl_encoder_path: str | Path | None = None,
    **log_model_kwargs: Any,
) -> Any:
    """Log ``blob``, saved at ``path``, in the active MLflow run as a pyfunc model ``name``
    (artifacts: that file and, for ``ssl`` features, ``ssl_encoder_path``); its params are the
    blob's lineage. Returns MLflow's ``ModelInfo``."""
    encoder = lineage_params(blob, "embedding").get("encoder")
    artifacts: dict[str, str] = {}
    if encoder == "ssl":
        if ssl_encoder_path is None or not Path(ssl_encoder_path).is_file():
            raise FileNotFoundError(
                f"classifier {blob.get('model')!r} uses SSL features: log it with the SSL encoder file "
                f"(ssl_encoder_path={ssl_encoder_path!r} does not exist)."
            )
        artifacts["ssl_encoder"] = str(ssl_encoder_path)
    params = {k: str(v)[:500] for k, v in ((blob.get("lineage") or {}).get("params") or {}).items()}
    artifacts["classifier"] = str(path)
    return mlflow.pyfunc.log_model(
        name=name, python_model=str(Path(__file__).with_name("pyfunc_entry.py")), artifacts=artifacts, signature=SIGNATURE,
        params=params, metadata={"model": blob.get("model"), "classes": list(blob["classes"]), "encoder": encoder},
        pip_requirements=["torch==" + version("torch"), "actionlab"], **log_model_kwargs,
    )  # fmt: skip


def register_best(comparison: pd.DataFrame, registered_model_name: str, measure: str = "accuracy") -> Any:
    """Register the model of the active run's best classifier (highest ``measure`` in the
    comparison table) under ``registered_model_name``; None when it was not logged in this run."""
    run = mlflow.active_run()
    if run is None or comparison.empty:
        return None
    best = str(comparison.sort_values(measure, ascending=False, kind="stable")["model"].iloc[0])
    logged = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}' AND name = 'classifier_{best}'",
        output_format="list", order_by=[{"field_name": "creation_time", "ascending": False}],
    )  # fmt: skip
    if not logged:
        return None
    return mlflow.register_model(f"models:/{logged[0].model_id}", registered_model_name)
