"""Wiring of the ``anomaly`` pipeline (modular pipeline and tag ``anomaly``)."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.anomaly.nodes import (
    augment_anomaly_clips,
    evaluate_anomaly,
    train_anomaly_scorers,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                augment_anomaly_clips,
                {"clip_embeddings": "clip_embeddings", "manifest": "manifest", "clip_index": "clip_index",
                 "clips": "clips", "ssl_encoder": "ssl_encoder", "params": "params:anomaly",
                 "embedding": "params:embedding"},
                "anomaly_augmented_clips", name="augment_anomaly_clips",
            ),  # fmt: skip
            Node(
                train_anomaly_scorers,
                ["clip_embeddings", "manifest", "frame_features", "anomaly_augmented_clips", "params:anomaly"],
                ["anomaly_scorers", "anomaly_scores", "anomaly_history", "anomaly_loss_metrics",
                 "anomaly_frame_errors"],
                name="train_anomaly_scorers",
            ),  # fmt: skip
            Node(
                evaluate_anomaly,
                ["anomaly_scores", "anomaly_history", "anomaly_frame_errors", "params:anomaly"],
                ["anomaly_report", "anomaly_competitive_report", "anomaly_metrics", "anomaly_plots"],
                name="evaluate_anomaly",
            ),  # fmt: skip
        ],
        namespace="anomaly",
        prefix_datasets_with_namespace=False,
        tags="anomaly",
    )
