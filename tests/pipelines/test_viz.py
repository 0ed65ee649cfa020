"""`kedro viz build` draws every pipeline as a collapsible box, with every dataset in a layer and
the raw videos at the top."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from .conftest import make_project

pytestmark = pytest.mark.slow
PIPELINES = {  # the default run
    "ingestion", "preprocessing", "segmentation", "ssl_training", "embedding", "clustering", "classification", "anomaly",
}  # fmt: skip
OTHERS = {"inference"}  # registered, run by name
LAYERS = ["01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input", "06_models",
          "07_model_output", "08_reporting"]  # fmt: skip


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> dict[str, Any]:
    """The graph Kedro-Viz serves for the default pipeline (built once, no browser)."""
    project = make_project(tmp_path_factory.mktemp("viz") / "project")
    subprocess.run(
        [sys.executable, "-m", "kedro", "viz", "build"], cwd=project, check=True, capture_output=True, timeout=300
    )
    return json.loads((project / "build/api/main").read_text())


def test_kedro_viz_build_names_the_pipelines_and_layers(graph):
    assert PIPELINES | OTHERS <= {p["id"] for p in graph["pipelines"]}
    assert {"01_raw", "02_intermediate", "03_primary", "04_feature", "07_model_output", "08_reporting"} <= set(
        graph["layers"]
    )
    datasets = [n for n in graph["nodes"] if n["type"] == "data"]
    unlayered = [n["name"] for n in datasets if not n.get("layer")]
    assert not unlayered, f"datasets without a layer: {unlayered}"


def test_no_dataset_depends_on_a_later_layer(graph):
    """Every arrow goes down the layers, so kedro viz draws the bands in data order."""
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


def test_the_raw_videos_start_the_graph_in_01_raw(graph):
    nodes = {n["id"]: n for n in graph["nodes"]}
    raw = [n for n in graph["nodes"] if n["name"] == "raw_videos"]
    assert len(raw) == 1 and raw[0]["type"] == "data" and raw[0]["layer"] == "01_raw"
    targets = [nodes[e["target"]] for e in graph["edges"] if e["source"] == raw[0]["id"]]
    readers = {n["full_name"] for n in targets if n["type"] == "task"}
    assert readers == {"ingestion.discover_videos"}
    assert {n["id"] for n in targets if n["type"] == "modularPipeline"} == {"ingestion"}  # the box's input
    assert not [e for e in graph["edges"] if e["target"] == raw[0]["id"]], "raw_videos is made by a node"
    first = [n["name"] for n in graph["nodes"] if n["type"] == "data" and n.get("layer") == LAYERS[0]]
    assert first == ["raw_videos"], f"01_raw holds {first}"


def test_every_node_sits_in_its_pipeline_box_and_tag(graph):
    """Each node carries the namespace and tag of the one pipeline it belongs to, so Kedro-Viz
    draws that pipeline as a box (collapsed by default) and filters it by tag."""
    tasks = [n for n in graph["nodes"] if n["type"] == "task"]
    assert tasks
    wrong = []
    for task in tasks:
        (pipeline,) = set(task["pipelines"]) - {"__default__"}
        if not (
            task["modular_pipelines"] == [pipeline]
            and task["full_name"] == f"{pipeline}.{task['name']}"
            and pipeline in task["tags"]
        ):
            wrong.append(f"{task['full_name']}: pipeline {pipeline}, namespaces {task['modular_pipelines']}, tags {task['tags']}")
    assert not wrong, "nodes outside their pipeline's namespace or tag:\n" + "\n".join(wrong)
    boxes = {c["id"] for c in graph["modular_pipelines"]["__root__"]["children"] if c["type"] == "modularPipeline"}
    assert boxes == PIPELINES
    assert {t["id"] for t in graph["tags"]} == PIPELINES | OTHERS
