"""Wiring of the ``embedding`` pipeline (modular pipeline and tag ``embedding``)."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.embedding.nodes import collect_embeddings, embed_clips


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                embed_clips,
                {
                    "clip_index": "clip_index", "clips": "clips", "segmentation_index": "segmentation_index",
                    "segmented_clips": "segmented_clips", "ssl_encoder": "ssl_encoder",
                    "params": "params:embedding", "runtime": "params:runtime",
                },
                ["frame_features", "embedding_plan"], name="embed_clips",
            ),  # fmt: skip
            Node(
                collect_embeddings, ["embedding_plan", "frame_features"],
                ["clip_embeddings", "embedding_failures", "embedding_metrics"], name="collect_embeddings",
            ),  # fmt: skip
        ],
        namespace="embedding",  # one collapsible box in kedro viz; node names <namespace>.<node>
        prefix_datasets_with_namespace=False,  # dataset and parameter names stay as they are
        tags="embedding",
    )
