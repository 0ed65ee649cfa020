"""Throughput and peak memory of the SAM 2 segmentation backends on a synthetic stream.

Random weights (no download; ``actionlab.segmentation.random_models``, saved once to
``--work-dir``): a SAM 2 checkpoint of ``sam2.config`` loaded like a real one, and for
``grounded_sam2`` a Grounding DINO built from ``GroundingDinoConfig()`` (the architecture of
IDEA-Research/grounding-dino-tiny; ``--detector tiny`` for the tests' tiny one). Compute per
frame equals the real models' at the same sizes, but how many objects random weights find (and
so how many are tracked) differs from real weights: the object count is printed with the speed.
Frames are made one at a time (moving squares on a textured background), so peak RSS shows
whether the backend's memory grows with the stream's length.

    python benchmarks/segmentation_sam2.py --backend sam2_oversegment --frames 60 --input-size 256
    python benchmarks/segmentation_sam2.py --backend grounded_sam2 --frames 300 --image-size 512

Prints one JSON line: frames/s, frames, mean objects per frame, peak RSS (MiB), settings.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from actionlab.segmentation.base import build_segmenter
from actionlab.segmentation.random_models import (
    DETECTOR_VARIANTS,
    save_grounding_dino,
    save_sam2_checkpoint,
)

ROOT = Path(__file__).resolve().parents[1]


def synthetic_frames(n: int, size: int, seed: int = 0) -> Iterator[np.ndarray]:
    """``n`` (size*3/4, size, 3) frames made one at a time: three squares moving over a fixed
    textured background."""
    rng = np.random.default_rng(seed)
    height, width = size * 3 // 4, size
    background = rng.integers(40, 90, (height, width, 3), dtype=np.uint8)
    side = max(8, size // 6)
    for i in range(n):
        frame = background.copy()
        for j, color in enumerate([(220, 60, 60), (60, 220, 60), (60, 60, 220)]):
            x = int((0.1 + 0.25 * j) * width + 0.2 * width * np.sin(i / 15 + j))
            y = int((0.2 + 0.25 * j) * height)
            frame[y : y + side, max(0, x) : max(0, x) + side] = color
        yield frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["grounded_sam2", "sam2_oversegment"], required=True)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--input-size", type=int, default=256, help="frame width (px); height 3/4")
    parser.add_argument(
        "--image-size", type=int, default=None, help="SAM 2 internal size; default: conf"
    )
    parser.add_argument("--bf16", choices=["auto", "true", "false"], default=None)
    parser.add_argument("--detector", choices=DETECTOR_VARIANTS, default="full")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--work-dir", default="/tmp/segmentation_sam2_bench")
    parser.add_argument("--set", nargs="*", default=[], help="backend overrides: key=yaml-value")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    conf = yaml.safe_load((ROOT / "conf/base/parameters_segmentation.yml").read_text())
    params: dict[str, Any] = copy.deepcopy(conf["segmentation"])
    params["backend"] = args.backend
    config = params["sam2"]["config"]
    checkpoint = Path(args.work_dir) / f"sam2_random_{Path(config).stem}.pt"
    params["sam2"]["checkpoint"] = str(save_sam2_checkpoint(checkpoint, config))
    if args.image_size:
        params["sam2"].update(image_size=args.image_size, cpu_image_size=args.image_size)
    if args.bf16 is not None:
        params["sam2"]["bf16"] = {"true": True, "false": False}.get(args.bf16, "auto")
    if args.backend == "grounded_sam2":
        folder = Path(args.work_dir) / f"gdino_{args.detector}"
        params["grounded_sam2"]["model_dir"] = str(save_grounding_dino(folder, args.detector))
    for item in args.set:
        key, value = item.split("=", 1)
        params[args.backend][key] = yaml.safe_load(value)
    segmenter = build_segmenter(params, args.device)
    started = time.perf_counter()
    frames = objects = 0
    for masks in segmenter.stream(synthetic_frames(args.frames, args.input_size)):
        frames += 1
        objects += len(masks)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sam2 = segmenter.sam2
    extra = {k: None if math.isnan(v) else v for k, v in segmenter.stats().items()}
    print(json.dumps({
        "backend": args.backend, "frames": frames, "fps": round(frames / seconds, 3),
        "seconds": round(seconds, 1), "objects_per_frame": round(objects / max(frames, 1), 2),
        "peak_rss_mib": round(peak), "input": f"{args.input_size}x{args.input_size * 3 // 4}",
        "sam2_image_size": sam2.image_size, "bf16": sam2.bf16, "threads": torch.get_num_threads(),
        "chunk_frames": params["chunk_frames"], "detector": args.detector if args.backend == "grounded_sam2" else None,
        "overrides": args.set, **extra,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
