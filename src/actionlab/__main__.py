"""The ``actionlab`` command (also ``python -m actionlab``): Kedro's run command, and
``actionlab predict`` to classify a video with a trained classifier and ``actionlab export`` to
write one as ONNX."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import click


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


@dataclass
class Project:
    """What ``actionlab predict`` reads from the Kedro project in the current folder, through
    the same configuration loader and environments as ``kedro run`` (conf/local overrides)."""

    params: dict[str, Any]
    classifiers: Path  # the kept models (catalog: classifiers)
    comparison: Path  # the last comparison table (catalog: classification_comparison)
    ssl_encoder: Path  # the SSL encoder file (catalog: ssl_encoder)
    tracking_uri: str | None  # mlflow.yml server.mlflow_tracking_uri

    @classmethod
    def here(cls) -> Project:
        from kedro.config import OmegaConfigLoader

        from actionlab.inference.predictor import PredictError
        from actionlab.settings import CONFIG_LOADER_ARGS

        if not Path("conf/base").is_dir():
            raise PredictError(
                f"no Kedro project in {Path.cwd()} (conf/base is missing): run `actionlab predict` "
                "in the project folder, where `kedro run` runs."
            )
        loader = OmegaConfigLoader(
            "conf", **CONFIG_LOADER_ARGS, config_patterns={"mlflow": ["mlflow*", "mlflow*/**"]}
        )
        catalog = loader["catalog"]

        def path(name: str) -> Path:
            entry = catalog[name]
            entry = entry["dataset"] if "dataset" in entry and "path" not in entry else entry
            return Path(entry.get("filepath") or entry["path"])

        uri = ((loader.get("mlflow") or {}).get("server") or {}).get("mlflow_tracking_uri")
        return cls(
            params=loader["parameters"], classifiers=path("classifiers"), comparison=path("classification_comparison"),
            ssl_encoder=path("ssl_encoder"), tracking_uri=uri,
        )  # fmt: skip

    def use_tracking(self) -> bool:
        """Point MLflow at the project's tracking store (MLFLOW_TRACKING_URI wins); False when
        there is none yet (a sqlite file not created), so that looking creates nothing."""
        import mlflow

        if "MLFLOW_TRACKING_URI" in os.environ:
            return True
        uri = self.tracking_uri
        if not uri or (uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file()):
            return False
        mlflow.set_tracking_uri(uri)
        return True

    def predictor(self, model: str | None, ssl_encoder: Path | None) -> Any:
        """The classifier ``model`` names (see ``actionlab.inference.loading``)."""
        import pandas as pd
        import torch

        from actionlab.inference.loading import load_predictor
        from actionlab.inference.predictor import PredictError

        local = {
            p.stem: partial(torch.load, p, map_location="cpu", weights_only=True)
            for p in sorted(self.classifiers.glob("*.pt"))
        }  # fmt: skip
        comparison = pd.read_csv(self.comparison) if self.comparison.is_file() else None
        tracked = self.use_tracking()
        if not tracked and model is not None and ":/" in model:
            raise PredictError(
                f"--model {model}: this project has no MLflow tracking store yet ({self.tracking_uri}); "
                "run `kedro run` first, or set MLFLOW_TRACKING_URI."
            )
        registered = self.params["classification"]["registered_model_name"] if tracked else None
        return load_predictor(
            model, local=local, comparison=comparison, registered_model_name=registered,
            ssl_encoder=ssl_encoder or self.ssl_encoder,
        )  # fmt: skip


def _write_timeline(predictor: Any, video: Path, params: dict[str, Any], out: Path | None, overlay: Path | None) -> None:
    from actionlab.inference.classify import timeline_outputs, video_timeline
    from actionlab.inference.timeline import write_segments_csv, write_segments_json

    timeline = video_timeline(predictor, video, params)
    _, figure, drawn = timeline_outputs(predictor, video, timeline)
    folder = out or video.parent
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / f"{video.stem}_timeline"
    write_segments_csv(timeline.segments, base.with_suffix(".csv"))
    write_segments_json(timeline.segments, base.with_suffix(".json"))
    figure.savefig(base.with_suffix(".png"), dpi=110, bbox_inches="tight")
    click.echo(timeline.segments.to_string(index=False))
    click.echo(f"timeline: {base}.csv, .json, .png")
    if overlay is not None:
        drawn.write(overlay)
        click.echo(f"overlay: {overlay}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--start", type=float, default=None, help="Start of the range, seconds [default: inference.start].")
@click.option("--end", type=float, default=None, help="End of the range, seconds [default: inference.end].")
@click.option("--duration", type=float, default=None, help="Length of the range, seconds, instead of --end.")
@click.option("--model", default=None,
              help="Kept model name, .pt file or MLflow URI [default: inference.model; null: the registered "
                   "model, else the best kept one].")  # fmt: skip
@click.option("--ssl-encoder", type=click.Path(path_type=Path), default=None,
              help="SSL encoder file, for a kept model trained on ssl features [default: the catalog's ssl_encoder].")  # fmt: skip
@click.option("--top-k", type=click.IntRange(min=1), default=None, help="Actions to print [default: inference.top_k].")
@click.option("--timeline", is_flag=True, help="Also write a timeline (CSV, JSON, PNG) of windows over the range.")
@click.option("--window", type=float, default=None, help="Timeline window, seconds [default: inference.timeline.window].")
@click.option("--stride", type=float, default=None, help="Timeline stride, seconds [default: inference.timeline.stride].")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Folder of the timeline files (default: the video's).")
@click.option("--overlay", type=click.Path(path_type=Path), default=None, help="Write an overlay mp4 of the timeline here.")
def predict(*, path: Path, start: float | None, end: float | None, duration: float | None, model: str | None,
            ssl_encoder: Path | None, top_k: int | None, timeline: bool, window: float | None, stride: float | None,
            out: Path | None, overlay: Path | None) -> None:  # fmt: skip
    """Print the top-k actions of the video PATH (or of a time range of it) with probabilities.

    Defaults are the project's `inference` parameters (conf/base/parameters_inference.yml, with
    conf/local overrides), as for `kedro run --pipeline inference`."""
    from actionlab.inference.classify import top_k_table
    from actionlab.inference.predictor import PredictError
    from actionlab.params import ParameterError, check_parameters

    try:
        project = Project.here()
        check_parameters(project.params)  # the project's own settings; the options are checked where used
        params = dict(project.params["inference"])
        if end is not None or duration is not None:  # the command line sets the range's end
            params.update(end=None, duration=None)
        given = {"start": start, "end": end, "duration": duration, "model": model, "top_k": top_k}
        params.update({k: v for k, v in given.items() if v is not None}, video=str(path))
        options = {"window": window, "stride": stride}
        params["timeline"] = {**params["timeline"], **{k: v for k, v in options.items() if v is not None}}
        predictor = project.predictor(params["model"], ssl_encoder)
        table = top_k_table(predictor, path, params)
        click.echo(f"{path} ({predictor.name}):")
        for label, probability in table[["label", "probability"]].itertuples(index=False):
            click.echo(f"  {label:<24} {probability:.3f}")
        if timeline or overlay is not None:
            _write_timeline(predictor, path, params, out, overlay)
    except (PredictError, ParameterError) as err:
        raise click.ClickException(str(err)) from err


if __name__ == "__main__":
    main()
