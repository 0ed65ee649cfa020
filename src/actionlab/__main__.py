"""The ``actionlab`` command (also ``python -m actionlab``): Kedro's run command, and
``actionlab predict`` to classify a video with a trained classifier and ``actionlab export`` to
write one as ONNX."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

COMPARISON = Path("data/08_reporting/classification_comparison.csv")
CLASSIFIERS = Path("data/06_models/classifiers")
SSL_ENCODER = Path("data/04_feature/ssl_encoder.pt")
PARAMETERS = Path("conf/base/parameters_classification.yml")  # classification.registered_model_name


def main(*args: Any, **kwargs: Any) -> Any:
    """``actionlab predict ...`` runs :func:`predict`, ``actionlab export ...`` the ONNX export;
    anything else is Kedro's run command."""
    argv = list(args[0]) if args and isinstance(args[0], (list, tuple)) else sys.argv[1:]
    if argv[:1] == ["predict"]:
        return predict.main(argv[1:], prog_name="actionlab predict")
    if argv[:1] == ["export"]:
        from actionlab.inference.onnx_export import export_main

        sys.exit(export_main(argv[1:]))
    from kedro.framework.cli.utils import find_run_command
    from kedro.framework.project import configure_project

    package_name = Path(__file__).parent.name
    configure_project(package_name)
    kwargs["standalone_mode"] = not hasattr(sys, "ps1")
    run = find_run_command(package_name)
    return run(*args, **kwargs)


def _best_local() -> Path | None:
    """The kept model with the best accuracy in the last comparison, when both files exist."""
    if not COMPARISON.is_file():
        return None
    import pandas as pd

    table = pd.read_csv(COMPARISON)
    for model in table.sort_values("accuracy", ascending=False, kind="stable")["model"]:
        if (CLASSIFIERS / f"{model}.pt").is_file():
            return CLASSIFIERS / f"{model}.pt"
    return None


def _registered() -> str | None:
    """``models:/<classification.registered_model_name>/latest`` of the project in this folder."""
    if not PARAMETERS.is_file():
        return None
    import yaml

    name = (yaml.safe_load(PARAMETERS.read_text()).get("classification") or {}).get("registered_model_name")
    return f"models:/{name}/latest" if name else None


def load_predictor(model: str | None, ssl_encoder: Path) -> Any:
    """The Predictor of ``model``: a ``.pt`` file, a model name in data/06_models/classifiers, an
    MLflow model URI (``models:/...``, ``runs:/...``), or by default the best local model (else
    the registered ``classification.registered_model_name``)."""
    import torch

    from actionlab.inference.predictor import PredictError, Predictor
    from actionlab.models import load_frame_encoder

    if model is None:
        best = _best_local()
        model = str(best) if best is not None else _registered()
        if model is None:
            raise PredictError(
                "no model found: run this in the project folder after `kedro run --pipelines "
                "classification`, or pass --model (a .pt file or an MLflow model URI)."
            )
    if ":/" in model:
        import mlflow

        if "MLFLOW_TRACKING_URI" not in os.environ and Path("mlflow.db").is_file():
            mlflow.set_tracking_uri("sqlite:///mlflow.db")
        try:
            loaded = mlflow.pyfunc.load_model(model)
        except Exception as err:  # MLflow raises several types for an unknown model
            raise PredictError(
                f"--model {model}: cannot load this MLflow model ({str(err).splitlines()[0]}); pass a "
                "registered model URI (models:/actionlab-classifier/1), a .pt file or a model name, "
                "or train one with `kedro run --pipelines classification`."
            ) from err
        return loaded.unwrap_python_model().predictor
    path = Path(model)
    if not path.suffix and not path.exists():
        path = CLASSIFIERS / f"{model}.pt"
    if not path.is_file():
        known = sorted(p.stem for p in CLASSIFIERS.glob("*.pt"))
        raise PredictError(
            f"--model {model}: no such model file ({path}); pass a .pt file, an MLflow model URI or one of "
            f"the trained models ({', '.join(known) or 'none yet: run `kedro run --pipelines classification`'})."
        )
    blob = torch.load(path, map_location="cpu", weights_only=True)
    ssl = load_frame_encoder(ssl_encoder) if ssl_encoder.is_file() else None
    return Predictor.from_blob(blob, ssl_encoder=ssl)


def _write_timeline(predictor: Any, video: Path, args: dict[str, Any], out: Path | None, overlay: Path | None) -> None:
    from actionlab.inference.timeline import build_timeline, write_segments_csv, write_segments_json
    from actionlab.plots.timeline import class_colors, timeline_figure

    starts, ends, probs = predictor.predict_windows(video, **args)
    timeline = build_timeline(probs, starts, ends, predictor.classes, smoothing=3 if len(probs) >= 3 else 1)
    folder = out or video.parent
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / f"{video.stem}_timeline"
    write_segments_csv(timeline.segments, base.with_suffix(".csv"))
    write_segments_json(timeline.segments, base.with_suffix(".json"))
    fig = timeline_figure(timeline.centres, timeline.smoothed, predictor.classes, timeline.segments, title=video.name)
    fig.savefig(base.with_suffix(".png"), dpi=110, bbox_inches="tight")
    click.echo(timeline.segments.to_string(index=False))
    click.echo(f"timeline: {base}.csv, .json, .png")
    if overlay is not None:
        from actionlab.video.overlay import write_overlay

        segments = list(timeline.segments.itertuples(index=False, name=None))
        write_overlay(video, overlay, segments, colors=class_colors(predictor.classes))
        click.echo(f"overlay: {overlay}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--start", type=float, default=None, help="Start of the range, seconds (default 0).")
@click.option("--end", type=float, default=None, help="End of the range, seconds (default: the video's end).")
@click.option("--duration", type=float, default=None, help="Length of the range, seconds (instead of --end).")
@click.option("--model", default=None, help="Model name, .pt file or MLflow URI (default: the best local model).")
@click.option("--ssl-encoder", type=click.Path(path_type=Path), default=SSL_ENCODER, show_default=True,
              help="SSL encoder file, for a local model trained on ssl features.")  # fmt: skip
@click.option("--top-k", type=click.IntRange(min=1), default=3, show_default=True, help="Labels to print.")
@click.option("--timeline", is_flag=True, help="Also write a timeline (CSV, JSON, PNG) of windows over the range.")
@click.option("--window", type=float, default=None, help="Timeline window, seconds (default: the training clip length).")
@click.option("--stride", type=float, default=None, help="Timeline stride, seconds (default: half a window).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Folder of the timeline files (default: the video's).")
@click.option("--overlay", type=click.Path(path_type=Path), default=None, help="Write an overlay mp4 of the timeline here.")
def predict(*, path: Path, start: float | None, end: float | None, duration: float | None, model: str | None,
            ssl_encoder: Path, top_k: int, timeline: bool, window: float | None, stride: float | None,
            out: Path | None, overlay: Path | None) -> None:  # fmt: skip
    """Print the top-k actions of the video PATH (or of a time range of it) with probabilities."""
    from actionlab.inference.predictor import PredictError

    try:
        predictor = load_predictor(model, ssl_encoder)
        best = predictor.predict(path, start, end, duration, top_k=top_k)
        click.echo(f"{path} ({predictor.name}):")
        for label, probability in best:
            click.echo(f"  {label:<24} {probability:.3f}")
        if timeline or overlay is not None:
            args = {"start": start, "end": end, "duration": duration, "window": window, "stride": stride}
            _write_timeline(predictor, path, args, out, overlay)
    except PredictError as err:
        raise click.ClickException(str(err)) from err


if __name__ == "__main__":
    main()
