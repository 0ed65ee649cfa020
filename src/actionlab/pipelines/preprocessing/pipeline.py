"""Wiring of the ``preprocessing`` pipeline (modular pipeline and tag ``preprocessing``)."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.preprocessing.nodes import decode_videos, index_clips, report_preprocessing


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                decode_videos, ["manifest", "params:preprocessing", "params:runtime"],
                ["clips", "clip_plan"], name="decode_videos",
            ),  # fmt: skip
            Node(index_clips, ["clip_plan", "clips"], "clip_index", name="index_clips"),
            Node(
                report_preprocessing, ["clip_index", "clips", "params:preprocessing"],
                ["preprocessing_report", "preprocessing_metrics", "clip_samples_plot"],
                name="report_preprocessing",
            ),  # fmt: skip
        ],
        namespace="preprocessing",  # one collapsible box in kedro viz; node names <namespace>.<node>
        prefix_datasets_with_namespace=False,  # dataset and parameter names stay as they are
        tags="preprocessing",
    )
