"""The notebooks in notebooks/ run top to bottom on a project that has run, and show what they
promise; the committed copies carry no outputs."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from nbclient import NotebookClient

from .conftest import REPO, copy_project, run_pipelines

NOTEBOOKS = REPO / "notebooks"
NAMES = ["01_explore.ipynb", "02_compare_runs.ipynb"]
CELL_TIMEOUT_S = 180  # each cell takes seconds; this only stops a hung kernel
THUMBNAIL = re.compile(r"data:image/jpeg;base64,[A-Za-z0-9+/=]+")


@pytest.fixture
def jupyter_env(tmp_path, monkeypatch) -> None:
    """The venv's own ``python3`` kernel, free of the user's Jupyter kernels and IPython profile."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.delenv("ACTIONLAB_PROJECT", raising=False)  # the notebooks find the project themselves


def _client(name: str, project: Path) -> tuple[NotebookClient, Path]:
    """A client for a copy of notebooks/``name`` in ``project``/notebooks/, the kernel's working
    directory as when a user opens it there after `kedro run`; the venv's ``python3`` kernel."""
    target = project / "notebooks" / name
    target.parent.mkdir(exist_ok=True)
    shutil.copy(NOTEBOOKS / name, target)
    nb = nbformat.read(target, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(target.parent)}}
    )
    return client, target


def execute(name: str, project: Path) -> nbformat.NotebookNode:
    """Run notebooks/``name`` top to bottom in a fresh kernel in ``project``; raises on a failing cell."""
    client, _ = _client(name, project)
    return client.execute()


@contextmanager
def live_kernel(name: str, project: Path) -> Iterator[Callable[[], nbformat.NotebookNode]]:
    """One kernel kept running; each call runs every cell of a fresh copy again, like "Run All"
    in an open notebook."""
    client, target = _client(name, project)
    with client.setup_kernel():

        def run_all() -> nbformat.NotebookNode:
            client.nb = nbformat.read(target, as_version=4)
            for index, c in enumerate(client.nb.cells):
                client.execute_cell(c, index)
            return client.nb

        yield run_all


def cell(nb: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    (found,) = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    return found


def outputs(c: nbformat.NotebookNode, mime: str) -> list[str]:
    """Every output of one MIME type of a cell (``stdout`` for printed text)."""
    if mime == "stdout":
        return [o.text for o in c.outputs if o.output_type == "stream" and o.name == "stdout"]
    return [o.data[mime] for o in c.outputs if mime in o.get("data", {})]


def result(c: nbformat.NotebookNode) -> str:
    """The HTML of a cell's value (its last expression, e.g. a table)."""
    (html,) = [o.data["text/html"] for o in c.outputs if o.output_type == "execute_result"]
    return html


def all_stdout(nb: nbformat.NotebookNode) -> str:
    return "".join(text for c in nb.cells if c.cell_type == "code" for text in outputs(c, "stdout"))


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebooks_are_valid_and_stripped(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    dirty = [c.id for c in code if c.outputs or c.execution_count is not None]
    assert not dirty, f"{name}: cells with outputs or execution counts: {dirty} (strip them before committing)"


@pytest.mark.slow
def test_explore_notebook_shows_manifest_clips_map_and_clusters(default_project, tmp_path, jupyter_env):
    project = copy_project(default_project, tmp_path / "project")
    nb = execute("01_explore.ipynb", project)

    manifest = pd.read_parquet(project / "data/02_intermediate/manifest.parquet")
    accepted = manifest[manifest["status"] == "accepted"]
    embeddings = pd.read_parquet(project / "data/04_feature/clip_embeddings.parquet")
    assignments = pd.read_parquet(project / "data/07_model_output/cluster_assignments.parquet")
    assert f"project: {project.resolve()}" in all_stdout(nb)

    counts = result(cell(nb, "manifest-counts"))
    assert all(f"<th>{label}</th>" in counts for label in accepted["label"].unique())
    assert f"<td>{len(accepted)}</td>" in counts  # the grand total

    assert outputs(cell(nb, "frame-strips"), "image/png"), "no frame strip figure"

    # the map: a Bokeh document whose points carry one thumbnail per clip, shown on hover
    emap = cell(nb, "embedding-map")
    assert outputs(emap, "application/vnd.bokehjs_exec.v0+json")
    (script,) = outputs(emap, "application/javascript")
    assert '"name":"HoverTool"' in script and "@thumb" in script
    assert len(set(THUMBNAIL.findall(script))) == len(embeddings) == len(accepted)

    table = result(cell(nb, "cluster-table"))
    assert all(f"<th>{label}</th>" in table for label in accepted["label"].unique())
    assert f"<td>{len(assignments)}</td>" in table
    assert all(f"<th>{c}</th>" in table for c in assignments["cluster"].unique())

    (linked,) = outputs(cell(nb, "cluster-map"), "application/javascript")
    assert linked.count('"name":"Figure"') == 2  # by label and by cluster, one shared source
    assert len(set(THUMBNAIL.findall(linked))) == len(embeddings)


def _run_ids(project: Path) -> list[str]:
    client = MlflowClient(tracking_uri=f"sqlite:///{(project / 'mlflow.db').resolve()}")
    experiment = client.get_experiment_by_name("actionlab")
    return [r.info.run_id for r in client.search_runs([experiment.experiment_id])]


@pytest.mark.slow
def test_compare_runs_notebook_with_one_run_then_two(default_project, tmp_path, jupyter_env):
    project = copy_project(default_project, tmp_path / "project")
    (first,) = _run_ids(project)  # the default run only

    with live_kernel("02_compare_runs.ipynb", project) as run_all:
        nb = run_all()
        assert f"sqlite:///{(project / 'mlflow.db').resolve()}" in all_stdout(nb)  # the URI from conf/
        assert "Only one run so far" in all_stdout(nb)
        table = result(cell(nb, "runs-table"))
        assert table.count(first[:8]) == 1
        assert outputs(cell(nb, "metric-bars"), "image/png")

        # another run, then "Run All" again in the same kernel
        run_pipelines(project, ["clustering"], {"clustering": {"algorithm": "agglomerative"}})
        ids = _run_ids(project)
        assert len(ids) == 2
        nb = run_all()
    assert "Only one run so far" not in all_stdout(nb)
    table = result(cell(nb, "runs-table"))
    assert all(table.count(run_id[:8]) == 1 for run_id in ids)
    assert "agglomerative" in table and "kmeans" in table
    assert "clustering.nmi" in table and "clustering.nmi_unseen" in table
    # the clustering-only run logged no SSL parameters: the column stays, its cell is empty
    assert "ssl_training.epochs" in table
    assert outputs(cell(nb, "metric-bars"), "image/png")
    assert outputs(cell(nb, "metric-history"), "image/png")
    assert "no run logged" not in all_stdout(nb)
