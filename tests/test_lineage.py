"""Lineage rides on the tables through the catalog's parquet files and merges stage by stage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from kedro_datasets.pandas import ParquetDataset

from actionlab.lineage import flatten, frame_digest, lineage_of, with_lineage


def _manifest() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "video_id": ["a", "b", "c"],
            "label": ["wave", "walk", ""],
            "time_start": [0.5, np.nan, None],
            "frames": [40, 41, 0],
        }
    )


def test_lineage_survives_the_catalogs_parquet_round_trip(tmp_path: Path):
    manifest = _manifest()
    params = {"source": "synthetic", "split": {"seed": 42, "fractions": {"train": 0.6}}, "exts": (".mp4",)}
    with_lineage(manifest, params={"ingestion": params}, inputs={"manifest": frame_digest(manifest)})
    dataset = ParquetDataset(filepath=str(tmp_path / "manifest.parquet"))
    dataset.save(manifest)
    loaded = dataset.load()
    assert lineage_of(loaded) == {
        "params": {
            "ingestion.source": "synthetic",
            "ingestion.split.seed": 42,
            "ingestion.split.fractions.train": 0.6,
            "ingestion.exts": [".mp4"],
        },
        "inputs": {"manifest": frame_digest(manifest)},
    }
    # the digest is of the content: the same read back, another when a value changes
    assert frame_digest(loaded) == frame_digest(manifest)
    changed = loaded.copy()
    changed.loc[1, "label"] = "jump"
    assert frame_digest(changed) != frame_digest(loaded)
    assert frame_digest(loaded.rename(columns={"frames": "n"})) != frame_digest(loaded)


def test_a_stage_adds_its_parameters_to_the_first_upstreams_lineage():
    clips = with_lineage(_manifest(), params={"preprocessing": {"size": 64}}, inputs={"manifest": "d1"})
    encoder_table = with_lineage(
        pd.DataFrame(), params={"preprocessing": {"size": 128}, "ssl_training": {"epochs": 3}},
        inputs={"manifest": "d0"},
    )  # fmt: skip
    plan = with_lineage(pd.DataFrame({"x": [1]}), clips, encoder_table, params={"embedding": {"encoder": "ssl"}})
    assert lineage_of(plan) == {
        # the clips the embeddings were made from win over the encoder's training clips
        "params": {"preprocessing.size": 64, "ssl_training.epochs": 3, "embedding.encoder": "ssl"},
        "inputs": {"manifest": "d1"},
    }
    assert lineage_of(pd.DataFrame()) == {"params": {}, "inputs": {}}


def test_flatten_names_as_kedro_mlflow_does():
    assert flatten({"clustering": {"k": None, "gmm": {}, "k_range": [2, 10]}}) == {
        "clustering.k": None,
        "clustering.k_range": [2, 10],
    }
