"""Wiring of the ``anomaly`` pipeline (modular pipeline and tag ``anomaly``)."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.anomaly.nodes import evaluate_anomaly, train_anomaly_scorers


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_anomaly_scorers, ["clip_embeddings", "manifest", "params:anomaly"],
                ["anomaly_scorers", "anomaly_scores"], name="train_anomaly_scorers",
            ),  # fmt: skip
            Node(
                evaluate_anomaly, ["anomaly_scores", "params:anomaly"],
                ["anomaly_report", "anomaly_competitive_report", "anomaly_metrics", "anomaly_plots"], name="evaluate_anomaly",
            ),  # fmt: skip
        ],
        namespace="anomaly",
        prefix_datasets_with_namespace=False,
        tags="anomaly",
    )
