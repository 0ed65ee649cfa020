"""Clustering of embeddings (no Kedro here)."""
