"""Wiring of the ``inference`` pipeline (modular pipeline and tag ``inference``)."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.inference.nodes import classify_video, draw_timeline, load_model


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                load_model,
                ["classifiers", "classification_comparison", "params:inference.model",
                 "params:classification.registered_model_name"],
                "inference_model", name="load_model",
            ),  # fmt: skip
            Node(classify_video, ["inference_model", "params:inference"], "inference_predictions", name="classify_video"),
            Node(
                draw_timeline, ["inference_model", "params:inference"],
                ["inference_windows", "inference_timeline", "inference_timeline_json", "inference_timeline_plot",
                 "inference_overlay"],
                name="draw_timeline",
            ),  # fmt: skip
        ],
        namespace="inference",  # one collapsible box in kedro viz; node names <namespace>.<node>
        prefix_datasets_with_namespace=False,  # dataset and parameter names stay as they are
        tags="inference",
    )
