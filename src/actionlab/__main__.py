"""The ``actionlab`` command (also ``python -m actionlab``): Kedro's run command, and
``actionlab predict`` to classify a video with a trained classifier, ``actionlab score`` to score
one with a trained anomaly scorer and ``actionlab export`` to write a classifier as ONNX."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import click


def main(*args: Any, **kwargs: Any) -> Any:
    """``actionlab predict ...`` runs :func:`predict`, ``actionlab score ...`` :func:`score`,
    ``actionlab export ...`` the ONNX export; anything else is Kedro's run command."""
    argv = list(args[0]) if args and isinstance(args[0], (list, tuple)) else sys.argv[1:]
    if argv[:1] == ["predict"]:
        return predict.main(argv[1:], prog_name="actionlab predict")
    if argv[:1] == ["score"]:
        return score.main(argv[1:], prog_name="actionlab score")
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
    """What ``actionlab predict`` and ``actionlab score`` read from the Kedro project in the
    current folder, through the same configuration loader and environments as ``kedro run``
    (conf/local overrides)."""

    params: dict[str, Any]
    classifiers: Path  # the kept models (catalog: classifiers)
    comparison: Path  # the last comparison table (catalog: classification_comparison)
    ssl_encoder: Path  # the SSL encoder file (catalog: ssl_encoder)
    tracking_uri: str | None  # mlflow.yml server.mlflow_tracking_uri
    anomaly_scorers: Path  # the saved anomaly scorers (catalog: anomaly_scorers)
    anomaly_report: Path  # the last anomaly report (catalog: anomaly_report)
    anomaly_plots: Path  # the anomaly figures' folder (catalog: anomaly_plots)

    @classmethod
    def here(cls) -> Project:
        from kedro.config import OmegaConfigLoader

        from actionlab.inference.predictor import PredictError
        from actionlab.settings import CONFIG_LOADER_ARGS

        if not Path("conf/base").is_dir():
            raise PredictError(
                f"no Kedro project in {Path.cwd()} (conf/base is missing): run `actionlab` "
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
            ssl_encoder=path("ssl_encoder"), tracking_uri=uri, anomaly_scorers=path("anomaly_scorers"),
            anomaly_report=path("anomaly_report"), anomaly_plots=path("anomaly_plots"),
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


def _write_score_timeline(scorer: Any, video: Path, result: Any, settings: dict[str, Any], out: Path) -> None:
    from actionlab.anomaly.score import write_timeline
    from actionlab.plots.anomaly import score_timeline_figure

    timeline = scorer.timeline(video, start=result.start, end=result.end, **settings)
    timeline.meta = {"video": str(video), "target": scorer.target, "model": scorer.name, "score": result.score,
                     "verdict": result.verdict, "threshold_rule": scorer.rule_text()}  # fmt: skip
    w = timeline.windows
    figure = score_timeline_figure(
        (w["start"] + w["end"]) / 2, w["score"], scorer.threshold,
        title=f"{video.name}: anomaly score, target {scorer.target}, {scorer.name}",
    )  # fmt: skip
    paths = write_timeline(timeline, out, f"{scorer.target}__{scorer.name}", figure=figure)
    plural = "s" if len(w) != 1 else ""
    click.echo(f"timeline: {len(w)} window{plural} of {timeline.window:.2f} s every {timeline.stride:.2f} s")
    if not timeline.stretches:
        click.echo("  no stretch at or above the threshold")
    for record in timeline.stretch_records():
        click.echo(f"  {record['start']:8.2f} s - {record['end']:8.2f} s   max score {record['max_score']:.4g}")
    click.echo(f"written: {', '.join(str(p) for p in paths)}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--target", required=True, help="The action (label) whose correct executions the scorer learnt.")
@click.option("--model", default=None,
              help="Scorer (knn, autoencoder, ...) [default: the best ROC-AUC of the target in the last anomaly "
                   "report, else the first of anomaly.models].")  # fmt: skip
@click.option("--start", type=float, default=None, help="Start of the range, seconds [default: 0].")
@click.option("--end", type=float, default=None, help="End of the range, seconds [default: the video's end].")
@click.option("--duration", type=float, default=None, help="Length of the range, seconds, instead of --end.")
@click.option("--timeline", is_flag=True, help="Also score windows over the range and write them (CSV, JSON, PNG).")
@click.option("--window", type=float, default=None, help="Timeline window, seconds [default: anomaly.timeline.window].")
@click.option("--stride", type=float, default=None, help="Timeline stride, seconds [default: anomaly.timeline.stride].")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder of the timeline files [default: <anomaly_plots folder>/score/<video stem>].")  # fmt: skip
@click.option("--ssl-encoder", type=click.Path(path_type=Path), default=None,
              help="SSL encoder file, for a scorer fitted on ssl embeddings [default: the catalog's ssl_encoder].")  # fmt: skip
def score(*, path: Path, target: str, model: str | None, start: float | None, end: float | None,
          duration: float | None, timeline: bool, window: float | None, stride: float | None, out: Path | None,
          ssl_encoder: Path | None) -> None:  # fmt: skip
    """Score the video PATH (or a time range of it) with the anomaly scorer of --target: print the
    score, the threshold and the verdict (anomalous when score >= threshold, else normal).

    Scorers are those of the last `kedro run --pipeline anomaly` (catalog: anomaly_scorers);
    timeline defaults are the project's anomaly.timeline parameters."""
    import pandas as pd

    from actionlab.anomaly.score import load_video_scorer
    from actionlab.inference.predictor import PredictError
    from actionlab.params import ParameterError, check_parameters

    try:
        project = Project.here()
        check_parameters(project.params)
        params = project.params["anomaly"]
        report = pd.read_csv(project.anomaly_report) if project.anomaly_report.is_file() else None
        scorer = load_video_scorer(
            project.anomaly_scorers, target, model, report=report, models=params["models"],
            ssl_encoder=ssl_encoder or project.ssl_encoder,
        )  # fmt: skip
        result = scorer.score(path, start, end, duration)
        click.echo(f"{path} [{result.start:.2f} s - {result.end:.2f} s], target {scorer.target}, model {scorer.name}:")
        click.echo(f"  score      {result.score:.6g}")
        click.echo(f"  threshold  {result.threshold:.6g} ({scorer.rule_text()})")
        click.echo(f"  verdict    {result.verdict}")
        if result.sampled_end < result.end - 1e-3:
            click.echo(f"  (one clip samples at most {result.sampled_end - result.start:.2f} s, as the training clips: "
                       f"this verdict is of {result.start:.2f} s - {result.sampled_end:.2f} s; --timeline scores "
                       "the whole range)")  # fmt: skip
        if timeline:
            options = {"window": window, "stride": stride}
            settings = {**params["timeline"], **{k: v for k, v in options.items() if v is not None}}
            folder = out or project.anomaly_plots.parent / "anomaly_score" / path.stem
            _write_score_timeline(scorer, path, result, settings, folder)
    except (PredictError, ParameterError) as err:
        raise click.ClickException(str(err)) from err


if __name__ == "__main__":
    main()
