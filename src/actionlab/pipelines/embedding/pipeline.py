"""Wiring of the ``embedding`` pipeline."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.embedding.nodes import collect_embeddings, plan_embeddings


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                plan_embeddings, ["clips", "clip_index", "ssl_encoder", "params:embedding"],
                ["frame_features", "embedding_plan"], name="plan_embeddings",
            ),  # fmt: skip
            Node(
                collect_embeddings, ["embedding_plan", "frame_features"],
                ["clip_embeddings", "embedding_metrics"], name="collect_embeddings",
            ),  # fmt: skip
        ]
    )
