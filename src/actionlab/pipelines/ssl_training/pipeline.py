"""Wiring of the ``ssl_training`` pipeline."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.ssl_training.nodes import sample_training_frames, train_ssl_encoder


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                sample_training_frames, ["clips", "clip_index", "params:ssl_training"],
                "ssl_training_frames", name="sample_training_frames",
            ),  # fmt: skip
            Node(
                train_ssl_encoder, ["ssl_training_frames", "params:ssl_training"],
                ["ssl_encoder", "ssl_history", "ssl_metrics", "ssl_loss_plot"], name="train_ssl_encoder",
            ),  # fmt: skip
        ]
    )
