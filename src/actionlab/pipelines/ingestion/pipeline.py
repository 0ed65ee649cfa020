"""Wiring of the ``ingestion`` pipeline (modular pipeline and tag ``ingestion``)."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.ingestion.nodes import (
    build_manifest,
    discover_videos,
    probe_videos,
    report_ingestion,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(discover_videos, ["raw_videos", "params:ingestion"], "video_sources", name="discover_videos"),
            Node(
                probe_videos, ["video_sources", "params:ingestion", "params:runtime"],
                ["probes", "probe_plan"], name="probe_videos",
            ),  # fmt: skip
            Node(
                build_manifest, ["probe_plan", "probes", "previous_splits", "params:ingestion"],
                ["manifest", "splits"], name="build_manifest",
            ),  # fmt: skip
            Node(
                report_ingestion, "manifest", ["rejected_videos", "ingestion_metrics"],
                name="report_ingestion",
            ),  # fmt: skip
        ],
        namespace="ingestion",  # one collapsible box in kedro viz; node names <namespace>.<node>
        prefix_datasets_with_namespace=False,  # dataset and parameter names stay as they are
        tags="ingestion",
    )
