"""Wiring of the ``classification`` pipeline (modular pipeline and tag ``classification``)."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.classification.nodes import (
    evaluate_classifiers,
    register_best_classifier,
    train_classifiers,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_classifiers,
                ["clip_embeddings", "frame_features", "clip_index", "clips", "params:classification"],
                ["classifiers", "classification_predictions", "classification_history", "classification_costs"],
                name="train_classifiers",
            ),  # fmt: skip
            Node(
                evaluate_classifiers,
                ["classification_predictions", "classification_history", "classification_costs"],
                ["classification_comparison", "classification_report", "classification_metrics",
                 "classification_confusion", "classification_history_plot"],
                name="evaluate_classifiers",
            ),  # fmt: skip
            Node(
                register_best_classifier,
                ["classification_comparison", "classifiers", "params:classification.registered_model_name"],
                None, name="register_best_classifier",
            ),  # fmt: skip
        ],
        namespace="classification",  # one collapsible box in kedro viz; node names <namespace>.<node>
        prefix_datasets_with_namespace=False,  # dataset and parameter names stay as they are
        tags="classification",
    )
