"""Random models built from configs, for tests and benchmarks: no weights, no network (no kedro).

* :func:`save_grounding_dino` saves a randomly initialised Grounding DINO and its processor (its
  tokenizer built from a small vocabulary written here) with ``save_pretrained``, the folder
  ``grounded_sam2.model_dir`` names: ``tiny`` (a few channels and layers, 128 px images: fast
  tests) or ``full`` (``GroundingDinoConfig()``'s defaults, the architecture of
  IDEA-Research/grounding-dino-tiny, and its processor's default sizes: realistic compute).
* :func:`save_sam2_checkpoint` saves SAM 2 built from a config (as ``sam2_models`` builds it)
  with random weights as ``{"model": state_dict}``, the checkpoint format ``sam2.checkpoint``
  names and :func:`actionlab.segmentation.sam2_models.load_sam2` reads at any image size.

Random weights compute exactly like real ones at the same sizes, but what they detect, segment
and track is arbitrary.
"""

from __future__ import annotations

from pathlib import Path

import torch

from actionlab.segmentation.sam2_models import build_model, resolve_config

#: the random detector's vocabulary (prompts made of these words tokenize to themselves)
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "a", "person", "ball", "dog"]
DETECTOR_VARIANTS = ("tiny", "full")


def _tiny_grounding_dino_config():
    """A Grounding DINO of a Swin backbone of 8 channels, one encoder and two decoder layers."""
    from transformers import BertConfig, GroundingDinoConfig, SwinConfig

    backbone = SwinConfig(
        image_size=128, patch_size=4, embed_dim=8, depths=[1, 1, 1, 1],
        num_heads=[1, 1, 1, 1], window_size=4, out_indices=[2, 3, 4],
    )  # fmt: skip
    text = BertConfig(
        vocab_size=len(WORDS), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64,
    )  # fmt: skip
    return GroundingDinoConfig(
        backbone_config=backbone, text_config=text, d_model=32, encoder_layers=1,
        decoder_layers=2, encoder_ffn_dim=32, decoder_ffn_dim=32, encoder_attention_heads=2,
        decoder_attention_heads=2, num_queries=10, max_text_len=32, encoder_n_points=2,
        decoder_n_points=2,
    )  # fmt: skip


def save_grounding_dino(folder: Path, variant: str = "tiny", seed: int = 0) -> Path:
    """A random Grounding DINO of ``variant`` (``tiny`` | ``full``) and its processor saved in
    ``folder`` (kept when it already holds a model); returns ``folder``."""
    from transformers import (
        BertTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoProcessor,
    )
    from transformers.models.grounding_dino.image_processing_grounding_dino import (
        GroundingDinoImageProcessor,
    )

    if variant not in DETECTOR_VARIANTS:
        raise ValueError(f"variant {variant!r}: expected one of {', '.join(DETECTOR_VARIANTS)}")
    folder = Path(folder)
    if (folder / "config.json").is_file():
        return folder
    torch.manual_seed(seed)
    # transformers 5: BertTokenizer(vocab_file=...) ignores the file; pass the vocabulary itself
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(WORDS)})
    if variant == "full":
        config, images = GroundingDinoConfig(), GroundingDinoImageProcessor()
    else:
        config = _tiny_grounding_dino_config()
        images = GroundingDinoImageProcessor(size={"shortest_edge": 128, "longest_edge": 128})
    folder.mkdir(parents=True, exist_ok=True)
    GroundingDinoForObjectDetection(config).save_pretrained(folder)
    GroundingDinoProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def save_sam2_checkpoint(path: Path, config: str, seed: int = 0) -> Path:
    """SAM 2 from ``config`` (``sam2.config``: a config packaged with sam2 or a YAML file) with
    random weights, saved to ``path`` as ``{"model": state_dict}`` (kept when the file exists;
    hiera-tiny: ~150 MB); returns ``path``."""
    path = Path(path)
    if path.is_file():
        return path
    torch.manual_seed(seed)
    model = build_model(resolve_config(config))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict()}, path)
    return path
