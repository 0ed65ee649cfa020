"""Wiring of the ``ssl_training`` pipeline (modular pipeline and tag ``ssl_training``)."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.ssl_training.nodes import train_ssl_encoder


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_ssl_encoder,
                {
                    "clips": "clips", "clip_index": "clip_index", "segmentation_index": "segmentation_index",
                    "segmented_clips": "segmented_clips", "params": "params:ssl_training",
                    "embedding_input": "params:embedding.input",
                },
                ["ssl_encoder", "ssl_history", "ssl_metrics", "ssl_loss_plot"], name="train_ssl_encoder",
            ),  # fmt: skip
        ],
        namespace="ssl_training",  # one collapsible box in kedro viz; node names <namespace>.<node>
        prefix_datasets_with_namespace=False,  # dataset and parameter names stay as they are
        tags="ssl_training",
    )
