"""The embedding cache key covers exactly what changes the features."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from actionlab.encoders.items import embed_item, embedding_key
from actionlab.keys import weights_hash

BASE = {
    "encoder": "torchvision", "device": "auto", "num_frames": 4, "small_step": 1, "pooling": "meanstd",
    "streams": "two", "batch_size": 64, "num_threads": None,
    "motion": {"grid": 3}, "torchvision": {"model": "resnet18", "weights_path": None, "allow_random": False,
                                            "input_size": 32, "clip_len": None}, "hf": {"path": None, "num_frames": None},
}  # fmt: skip


def _with(params: dict, **tv) -> dict:
    return {**params, "torchvision": {**params["torchvision"], **tv}}


def test_replacing_the_weights_at_the_same_path_changes_the_key(tmp_path: Path):
    path = tmp_path / "resnet.pth"
    torch.save({"w": torch.zeros(4)}, path)
    params = _with(BASE, weights_path=str(path))
    before = embedding_key("clip", params)
    torch.save({"w": torch.ones(4)}, path)  # same path, same size, other weights
    assert embedding_key("clip", params) != before
    torch.save({"w": torch.zeros(4)}, path)
    assert embedding_key("clip", params) == before


def test_a_weights_folder_is_hashed_by_content(tmp_path: Path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    (tmp_path / "m" / "model.safetensors").write_bytes(b"a" * 100)
    first = weights_hash(tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").write_bytes(b"b" * 100)
    assert weights_hash(tmp_path / "m") != first


def test_device_batch_size_threads_and_other_encoders_do_not_change_the_key():
    key = embedding_key("clip", BASE)
    assert embedding_key("clip", {**BASE, "device": "cpu", "batch_size": 8, "num_threads": 2}) == key
    assert embedding_key("clip", {**BASE, "motion": {"grid": 5}, "hf": {"path": "/x", "num_frames": 3}}) == key
    assert embedding_key("clip", {**BASE, "num_frames": 8}) != key
    assert embedding_key("clip", _with(BASE, input_size=64)) != key
    assert embedding_key("other", BASE) != key


def test_ssl_key_follows_the_encoder_fingerprint():
    params = {**BASE, "encoder": "ssl"}
    assert embedding_key("clip", params, "aaa") != embedding_key("clip", params, "bbb")
    assert embedding_key("clip", {**params, "torchvision": {"model": "x"}}, "aaa") == embedding_key("clip", params, "aaa")


def test_a_missing_weights_file_names_the_parameter(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"embedding\.torchvision\.weights_path"):
        embedding_key("clip", _with(BASE, weights_path=str(tmp_path / "missing.pth")))


def _clip() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (12, 32, 32, 3), dtype=np.uint8)


def test_embed_item_writes_features_and_returns_the_embedding(tmp_path: Path):
    params = {**BASE, "encoder": "motion", "motion": {}}
    out = tmp_path / "f.npz"
    record = embed_item(out, read=partial(_clip), spec={"params": params, "device": "cpu"})
    with np.load(out) as data:
        assert np.allclose(data["embedding"], record["embedding"])
        assert data["frame_features"].shape[0] > 0
    assert record["frames"] == 12 and record["seconds"] > 0
