"""`kedro viz build` draws every pipeline, with every dataset in a layer."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import make_project

pytestmark = pytest.mark.slow
PIPELINES = {"ingestion", "preprocessing", "ssl_training", "embedding", "clustering"}


def test_kedro_viz_build_names_the_pipelines_and_layers(tmp_path):
    project = make_project(tmp_path / "project")
    subprocess.run(
        [sys.executable, "-m", "kedro", "viz", "build"], cwd=project, check=True, capture_output=True, timeout=300
    )
    graph = json.loads((project / "build/api/main").read_text())
    assert PIPELINES <= {p["id"] for p in graph["pipelines"]}
    assert {"01_raw", "02_intermediate", "03_primary", "04_feature", "07_model_output", "08_reporting"} - {
        "01_raw"
    } <= set(graph["layers"])
    datasets = [n for n in graph["nodes"] if n["type"] == "data"]
    unlayered = [n["name"] for n in datasets if not n.get("layer") and not n["name"].startswith("params:")]
    assert not unlayered, f"datasets without a layer: {unlayered}"


LAYERS = ["01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input", "06_models",
          "07_model_output", "08_reporting"]  # fmt: skip


def test_no_dataset_depends_on_a_later_layer(tmp_path):
    """Every arrow goes down the layers, so kedro viz draws the bands in data order."""
    project = make_project(tmp_path / "project")
    subprocess.run(
        [sys.executable, "-m", "kedro", "viz", "build"], cwd=project, check=True, capture_output=True, timeout=300
    )
    graph = json.loads((project / "build/api/main").read_text())
    nodes = {n["id"]: n for n in graph["nodes"]}
    inputs: dict[str, list[dict]] = {}
    outputs: dict[str, list[dict]] = {}
    for edge in graph["edges"]:
        source, target = nodes[edge["source"]], nodes[edge["target"]]
        if source["type"] == "data" and target["type"] == "task":
            inputs.setdefault(target["id"], []).append(source)
        elif source["type"] == "task" and target["type"] == "data":
            outputs.setdefault(source["id"], []).append(target)
    backwards = [
        f"{i['name']} ({i['layer']}) -> {nodes[task]['name']} -> {o['name']} ({o['layer']})"
        for task, ins in inputs.items() for i in ins if i.get("layer")
        for o in outputs.get(task, []) if o.get("layer") and LAYERS.index(i["layer"]) > LAYERS.index(o["layer"])
    ]  # fmt: skip
    assert not backwards, "datasets depending on a later layer:\n" + "\n".join(backwards)
