"""Wiring of the ``ingestion`` pipeline."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.ingestion.nodes import build_manifest, discover_videos, report_ingestion


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(discover_videos, "params:ingestion", "video_sources", name="discover_videos"),
            Node(
                build_manifest, ["video_sources", "previous_splits", "params:ingestion"],
                ["manifest", "splits"], name="build_manifest",
            ),  # fmt: skip
            Node(
                report_ingestion, "manifest", ["rejected_videos", "ingestion_metrics"],
                name="report_ingestion",
            ),  # fmt: skip
        ]
    )
