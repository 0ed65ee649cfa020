"""Project hooks: the parameters are checked before anything runs; every MLflow run records its
lineage, the git commit, and a name that tells it apart."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl

from actionlab.lineage import flatten, lineage_of

if TYPE_CHECKING:
    from kedro.framework.context import KedroContext
    from kedro.pipeline import Pipeline

logger = logging.getLogger(__name__)


class ParameterCheckHooks:
    """Validate every known parameter group (``actionlab.params``) once the context exists.

    ``after_context_created`` is Kedro's earliest hook: it fires before the catalog is built,
    before any node runs, and (``tryfirst``) before kedro-mlflow sets up its experiment, so a
    wrong ``--params`` value stops the run at once with the parameter, its value and what is
    allowed.
    """

    @hook_impl(tryfirst=True)
    def after_context_created(self, context: KedroContext) -> None:
        """Raise ``actionlab.params.ParameterError`` when a parameter is wrong."""
        # imported here: the schemas import torch and sklearn, which `kedro --help` does not need
        from actionlab.params import ParameterError, check_parameters

        try:
            # raw YAML merged with --params / runtime_params, as the user wrote them
            params = context.config_loader["parameters"]
        except MissingConfigException:
            return
        try:
            check_parameters(params)
        except ParameterError as err:
            logger.error("%s", err)
            raise


class LineageHooks:
    """Make every MLflow run say what it was computed from, and name it after what changed.

    kedro-mlflow starts one run per ``kedro run`` and logs the parameters of the nodes it
    executes. This hook, called after it (``trylast``), adds what those parameters cannot tell:

    - the run's name: the pipeline(s) and the ``--params`` given for this run
      (``clustering · clustering.algorithm=gmm``; a plain ``kedro run`` is ``default``) unless
      ``tracking.run.name`` (or ``run.id``) is set in ``mlflow.yml``;
    - the git commit of the project (``mlflow.source.git.commit``, shown by the UI), its branch,
      and ``git.dirty`` (``true`` when tracked files have uncommitted changes);
    - for every table a node reads or writes, its lineage (``actionlab.lineage``): upstream
      parameters under their own names (``embedding.encoder``, ``preprocessing.size``, ...) and
      the source datasets (the manifest) as MLflow dataset inputs with their content digest.

    A key the run already has keeps its value (MLflow params cannot change); a lineage value
    that disagrees with this run's own parameter is reported as a warning. Nothing happens when
    tracking is off for the pipeline.
    """

    def __init__(self) -> None:
        self._context: KedroContext | None = None
        self._run_id: str | None = None

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        self._context = context

    @hook_impl(trylast=True)  # after kedro-mlflow's hook has started the run
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any) -> None:
        import mlflow
        from mlflow.tracking import MlflowClient

        self._run_id = None
        config = getattr(self._context, "mlflow", None)  # kedro-mlflow's settings
        names = run_params.get("pipeline_names") or ["__default__"]
        disabled = config is None or all(n in config.tracking.disable_tracking.pipelines for n in names)
        if disabled and config is not None:
            _switch_off_pattern_datasets(pipeline, catalog)
        if disabled or mlflow.active_run() is None:
            return
        self._run_id = mlflow.active_run().info.run_id
        self._client = MlflowClient()
        self._catalog = catalog
        self._project = Path(run_params["project_path"])
        # the parameters this run's own nodes log (kedro-mlflow): lineage never overrides them
        params = self._context.params
        own = {n.removeprefix("params:"): _get(params, n.removeprefix("params:")) for n in pipeline.inputs()
               if n.startswith("params:")}  # fmt: skip
        self._own = {k: str(v) for k, v in flatten(own).items()}
        self._logged = dict(self._client.get_run(self._run_id).data.params)
        self._datasets: set[str] = set()
        self._warned: set[str] = set()
        if config.tracking.run.name is None and config.tracking.run.id is None:
            name = run_name(names, run_params.get("runtime_params") or {})
            self._client.update_run(self._run_id, name=name)
        for key, value in git_tags(self._project).items():
            self._client.set_tag(self._run_id, key, value)

    @hook_impl(trylast=True)
    def before_node_run(self, inputs: dict[str, Any]) -> None:
        self._log_lineage(inputs)

    @hook_impl
    def after_node_run(self, outputs: dict[str, Any]) -> None:
        self._log_lineage(outputs)

    def _log_lineage(self, artefacts: dict[str, Any]) -> None:
        if self._run_id is None:
            return
        from mlflow.entities import Param
        from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH, MAX_PARAMS_TAGS_PER_BATCH

        for dataset, data in artefacts.items():
            if not isinstance(data, pd.DataFrame):
                continue
            lineage = lineage_of(data)
            new = {}
            for key, raw in lineage["params"].items():
                value = str(raw)[:MAX_PARAM_VAL_LENGTH]
                known = self._own.get(key, self._logged.get(key))
                if known is None:
                    new[key] = self._logged[key] = value
                elif known != value and key not in self._warned:
                    self._warned.add(key)
                    logger.warning(
                        "%s was made with %s=%s, but this run has %s=%s.", dataset, key, value, key, known
                    )
            items = [Param(k, v) for k, v in new.items()]
            for start in range(0, len(items), MAX_PARAMS_TAGS_PER_BATCH):
                self._client.log_batch(self._run_id, params=items[start : start + MAX_PARAMS_TAGS_PER_BATCH])
            for name, digest in lineage["inputs"].items():
                if name not in self._datasets:
                    self._datasets.add(name)
                    self._log_dataset(name, digest)

    def _log_dataset(self, name: str, digest: str) -> None:
        """Log a source dataset as an MLflow dataset input: its name, content digest and file."""
        from mlflow.data.dataset_source_registry import resolve_dataset_source
        from mlflow.data.meta_dataset import MetaDataset
        from mlflow.entities import DatasetInput

        filepath = self._catalog.get(name)._describe().get("filepath") if name in self._catalog else None
        path = Path(str(filepath or name))
        with warnings.catch_warnings():  # mlflow registers its local-file source twice and says so
            warnings.filterwarnings("ignore", "The specified dataset source can be interpreted")
            source = resolve_dataset_source(str(path if path.is_absolute() else self._project / path))
        dataset = MetaDataset(source, name=name, digest=digest)
        self._client.log_inputs(self._run_id, [DatasetInput(dataset._to_mlflow_entity())])


def _switch_off_pattern_datasets(pipeline: Pipeline, catalog: Any) -> None:
    """kedro-mlflow switches off the MLflow datasets of the catalog when tracking is off for a
    pipeline, but datasets from patterns (``{name}_plot``) only exist once used, so they would
    still log, into a new run: they are made here first and switched off with the rest."""
    from kedro_mlflow.io.catalog.switch_catalog_logging import switch_catalog_logging

    for name in pipeline.datasets():
        if not name.startswith("params:") and name != "parameters":
            catalog.get(name)
    switch_catalog_logging(catalog, False)


def _get(params: dict[str, Any], dotted: str) -> Any:
    """``params["a"]["b"]`` for ``"a.b"`` (Kedro's ``params:a.b``)."""
    for part in dotted.split("."):
        params = params[part]
    return params


def run_name(pipelines: list[str], runtime_params: dict[str, Any], limit: int = 250) -> str:
    """``clustering · clustering.algorithm=gmm``: the pipelines (``__default__`` -> ``default``)
    and the parameters given on the command line, cut to ``limit`` characters."""
    name = "+".join("default" if p == "__default__" else p for p in pipelines)
    given = ", ".join(f"{k}={v}" for k, v in flatten(runtime_params).items())
    name = f"{name} · {given}" if given else name
    return name if len(name) <= limit else name[: limit - 1] + "…"


def git_tags(path: Path) -> dict[str, str]:
    """MLflow's git tags for the repository holding ``path`` (none outside a repository)."""
    import git

    try:
        repo = git.Repo(path, search_parent_directories=True)
        tags = {"mlflow.source.git.commit": repo.head.commit.hexsha}
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return {}  # not a repository, or one without a commit yet
    if not repo.head.is_detached:
        tags["mlflow.source.git.branch"] = repo.active_branch.name
    tags["git.dirty"] = str(repo.is_dirty(untracked_files=False)).lower()
    return tags
