"""Wiring of the ``segmentation`` pipeline (modular pipeline and tag ``segmentation``)."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.segmentation.nodes import (
    index_segmentation,
    report_segmentation,
    segment_clips,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                segment_clips, ["clip_index", "clips", "params:segmentation", "params:runtime"],
                ["segmented_clips", "segmentation_plan"], name="segment_clips",
            ),  # fmt: skip
            Node(index_segmentation, ["segmentation_plan", "segmented_clips"], "segmentation_index", name="index_segmentation"),
            Node(
                report_segmentation, ["segmentation_index", "clips", "segmented_clips", "params:segmentation"],
                ["segmentation_stats", "segmentation_metrics", "segmentation_contact_sheet", "segmentation_videos"],
                name="report_segmentation",
            ),  # fmt: skip
        ],
        namespace="segmentation",  # one collapsible box in kedro viz; node names <namespace>.<node>
        prefix_datasets_with_namespace=False,  # dataset and parameter names stay as they are
        tags="segmentation",
    )
