"""Tiny randomly initialised models for the SAM 2 backend tests (no weights, no network): a
Grounding DINO saved with ``save_pretrained`` together with its processor (its tokenizer built
from a vocabulary written here), and SAM 2 parameters at a small image size with random weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "a", "person", "ball", "dog"]


def save_tiny_grounding_dino(folder: Path, seed: int = 0) -> Path:
    """A tiny Grounding DINO (Swin backbone of 8 channels, one encoder layer, two decoder layers)
    and its processor (128 px images), saved in ``folder``; returns ``folder``."""
    from transformers import (
        BertConfig,
        BertTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoProcessor,
        SwinConfig,
    )
    from transformers.models.grounding_dino.image_processing_grounding_dino import (
        GroundingDinoImageProcessor,
    )

    torch.manual_seed(seed)
    # transformers 5: BertTokenizer(vocab_file=...) ignores the file; pass the vocabulary itself
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(WORDS)})
    backbone = SwinConfig(
        image_size=128,
        patch_size=4,
        embed_dim=8,
        depths=[1, 1, 1, 1],
        num_heads=[1, 1, 1, 1],
        window_size=4,
        out_indices=[2, 3, 4],
    )
    text = BertConfig(
        vocab_size=len(WORDS),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    config = GroundingDinoConfig(
        backbone_config=backbone,
        text_config=text,
        d_model=32,
        encoder_layers=1,
        decoder_layers=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        num_queries=10,
        max_text_len=32,
        encoder_n_points=2,
        decoder_n_points=2,
    )
    model = GroundingDinoForObjectDetection(config)
    images = GroundingDinoImageProcessor(size={"shortest_edge": 128, "longest_edge": 128})
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    GroundingDinoProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def tiny_sam2_params(params: dict[str, Any], image_size: int = 128) -> dict[str, Any]:
    """``params`` (the ``segmentation`` parameters) with SAM 2 at ``image_size`` with random
    weights on CPU, fp32 (the packaged hiera-tiny config, no checkpoint)."""
    params["device"] = "cpu"
    params["sam2"].update(
        checkpoint=None,
        allow_random=True,
        image_size=image_size,
        cpu_image_size=image_size,
        bf16=False,
    )
    return params
