"""Wiring of the ``clustering`` pipeline (modular pipeline and tag ``clustering``)."""

from kedro.pipeline import Node, Pipeline

from actionlab.pipelines.clustering.nodes import (
    analyse_centroids,
    cluster_clips,
    describe_clusters,
    evaluate_clusters,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                cluster_clips, ["clip_embeddings", "params:clustering"],
                ["cluster_assignments", "clustering_info", "silhouette_plot"], name="cluster_clips",
            ),  # fmt: skip
            Node(
                evaluate_clusters,
                ["clip_embeddings", "cluster_assignments", "clustering_info", "params:clustering",
                 "params:ssl_training.splits"],
                ["clustering_metrics", "clustering_scores", "embedding_map_plot", "cluster_confusion_plot"],
                name="evaluate_clusters",
            ),  # fmt: skip
            Node(
                analyse_centroids, ["clip_embeddings", "params:clustering"],
                ["centroid_summary", "centroid_distances_plot"], name="analyse_centroids",
            ),  # fmt: skip
            Node(
                describe_clusters,
                ["clip_embeddings", "cluster_assignments", "clip_index", "clips", "params:clustering"],
                ["cluster_sheets", "cluster_previews", "cluster_labels", "cluster_members"],
                name="describe_clusters",
            ),  # fmt: skip
        ],
        namespace="clustering",  # one collapsible box in kedro viz; node names <namespace>.<node>
        prefix_datasets_with_namespace=False,  # dataset and parameter names stay as they are
        tags="clustering",
    )
