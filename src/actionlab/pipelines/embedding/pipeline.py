"""Wiring of the ``embedding`` pipeline."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.embedding.nodes import collect_embeddings, plan_embeddings


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                plan_embeddings,
                ["clip_index", "clips", "ssl_encoder", "params:embedding", "params:runtime"],
                ["frame_features", "embedding_plan"], name="plan_embeddings",
            ),  # fmt: skip
            Node(
                collect_embeddings, ["embedding_plan", "frame_features"],
                ["clip_embeddings", "embedding_failures", "embedding_metrics"], name="collect_embeddings",
            ),  # fmt: skip
        ]
    )
