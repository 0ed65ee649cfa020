"""Embedding throughput: the SSL frame encoder and `motion` next to plain resnet18 inference.

Runs every encoder on the same preprocessed clips and prints a markdown table of frames/s.
Usage (after `kedro run --pipeline preprocessing`, which writes the clips):

    python benchmarks/embedding.py [--clips 20] [--threads 2] [--device auto]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from actionlab.encoders import build_encoder
from actionlab.models import DEFAULT_CONFIG as SSL_DEFAULTS
from actionlab.models import FrameEncoder
from actionlab.runtime import resolve_device
from actionlab.video import read_clip

ROOT = Path(__file__).resolve().parents[1]


def load_clips(n: int) -> list[np.ndarray]:
    index = pd.read_parquet(ROOT / "data/03_primary/clip_index.parquet")
    keys = index.loc[index["status"] == "accepted", "clip_key"].head(n)
    return [read_clip(ROOT / "data/03_primary/clips" / f"{key}.h5")["frames"] for key in keys]


def frames_per_second(encoder, clips: list[np.ndarray]) -> float:
    encoder.encode(clips[0])  # warm-up
    started = time.perf_counter()
    frames = 0
    for clip in clips:
        encoder.encode(clip)
        frames += len(clip)
    return frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clips = load_clips(args.clips)
    device = str(resolve_device(args.device))
    ssl_path = ROOT / "data/04_feature/ssl_encoder.pt"
    if ssl_path.is_file():
        from actionlab.models import load_frame_encoder

        ssl = load_frame_encoder(ssl_path)
    else:
        # the trained encoder's architecture and input, random weights: same speed
        keys = ("arch", "input_mode", "input_size", "diff_step", "norm", "roi", "mirror")
        ssl = FrameEncoder(**{k: SSL_DEFAULTS[k] for k in keys})
    config = {"num_threads": args.threads, "torchvision": {"allow_random": True}}
    rows = [
        (f"ssl ({ssl.config['input_size']} px {ssl.config['input_mode']} input, roi {ssl.config.get('roi', 'full')}, mirror {ssl.config.get('mirror', False)})", build_encoder("ssl", config, ssl_encoder=ssl, device=device)),
        ("motion (Farneback flow, CPU)", build_encoder("motion", config)),
        ("plain resnet18, 128 px", build_encoder("torchvision", {**config, "torchvision": {"model": "resnet18", "allow_random": True, "input_size": 128}}, device=device)),
        ("plain resnet18, 224 px", build_encoder("torchvision", {**config, "torchvision": {"model": "resnet18", "allow_random": True}}, device=device)),
    ]
    frames = sum(len(c) for c in clips)
    print(f"{len(clips)} clips, {frames} frames of {clips[0].shape[1]} px; device {device}; {args.threads} threads\n")
    print("| encoder | frames/s |\n|---|---|")
    for name, encoder in rows:
        print(f"| {name} | {frames_per_second(encoder, clips):.0f} |")


if __name__ == "__main__":
    main()
