"""Segmentation backends on the built-in generator: mask quality per camera mode, speed on one
CPU core, and peak memory while streaming long videos.

    PYTHONPATH=src python benchmarks/segmentation.py --backend motion --seeds 0 1 2 3 4

* **Quality**: mean IoU of each frame's foreground (``foreground`` of the backend's masks)
  against the generator's ground-truth figure masks, on ``--seeds`` x every action, for the
  ``still``, ``shake`` (the default data) and ``pan_zoom`` cameras; mean, spread (std over clips)
  and the worst clip, and the mean per action. A plain OpenCV MOG2 background subtractor
  (no camera compensation) is the baseline row.
* **Speed**: frames/s of ``Segmenter.stream`` at 256 and 512 px (OpenCV and torch on one
  thread), frames rendered beforehand.
* **Memory**: peak RSS of a fresh process streaming a 30 s and a 5 min video (20 fps, 256 px)
  made on the fly from a rendered clip played forwards and backwards (never held whole): flat
  when the backend's memory does not grow with the video.

Timings depend on the machine and on whatever else runs on it.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import copy  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

from actionlab.segmentation.base import build_segmenter, foreground  # noqa: E402
from actionlab.synthetic import ACTIONS, render_clip  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CAMERAS = ("still", "shake", "pan_zoom")


def load_params(backend: str) -> dict[str, Any]:
    """conf/base's ``segmentation`` parameters with ``backend`` selected."""
    text = (ROOT / "conf" / "base" / "parameters_segmentation.yml").read_text()
    params = copy.deepcopy(yaml.safe_load(text)["segmentation"])
    params["backend"] = backend
    return params


def one_thread() -> None:
    cv2.setNumThreads(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


class Mog2:
    """The baseline: OpenCV MOG2 (shadows detected and dropped), no camera compensation, the
    same opening / closing / largest component as a plain pipeline would use."""

    def __init__(self) -> None:
        self.sub = cv2.createBackgroundSubtractorMOG2(history=100, detectShadows=True)
        self.k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def masks(self, frames: np.ndarray) -> Iterator[np.ndarray]:
        for frame in frames:
            fg = np.where(self.sub.apply(frame) == 255, 255, 0).astype(np.uint8)
            fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self.k)
            fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self.k)
            n, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
            if n > 1:
                fg = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
            yield fg > 0


def clip_ious(params: dict[str, Any], device: str, seeds: list[int], baseline: bool):
    """{camera: [(action, seed, mean IoU over the clip's frames)]}."""
    out: dict[str, list[tuple[str, int, float]]] = {}
    for camera in CAMERAS:
        rows = []
        for action, seed in itertools.product(ACTIONS, seeds):
            clip = render_clip(action, seed=seed, camera=camera)
            if baseline:
                pred = list(Mog2().masks(clip.frames))
            else:
                seg = build_segmenter(params, device)
                shape = clip.frames.shape[1:3]
                pred = [foreground(m, shape) for m in seg.stream(clip.frames)]
                seg.close()
            score = np.mean([iou(p, g) for p, g in zip(pred, clip.masks, strict=True)])
            rows.append((action, seed, float(score)))
        out[camera] = rows
    return out


def speed(params: dict[str, Any], device: str, size: int, frames: int) -> float:
    """frames/s of the backend on ``frames`` frames of a pan_zoom clip at ``size`` px."""
    clip = render_clip("walk", seed=7, num_frames=frames, size=size, camera="pan_zoom")
    seg = build_segmenter(params, device)
    next(iter(seg.stream(clip.frames[:1])))  # warm-up (lazy imports, model load)
    start = time.perf_counter()
    count = sum(1 for _ in seg.stream(clip.frames))
    elapsed = time.perf_counter() - start
    seg.close()
    return count / elapsed


def looped_video(seconds: float, fps: float, size: int) -> Iterator[np.ndarray]:
    """``seconds`` of frames from one rendered clip played forwards and backwards."""
    clip = render_clip("walk", seed=7, num_frames=80, size=size, camera="shake")
    total = int(round(seconds * fps))
    order = list(range(80)) + list(range(79, -1, -1))
    for i in range(total):
        yield clip.frames[order[i % len(order)]]


def current_rss_mib() -> float:
    """The process's resident memory now (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_child(backend: str, device: str, seconds: float, size: int) -> None:
    """(In a fresh process) stream the looped video; print the peak RSS (MiB, getrusage), the
    resident memory at frame 100 and its largest sample after it (every 50 frames), frames/s."""
    one_thread()
    params = load_params(backend)
    seg = build_segmenter(params, device)
    start = time.perf_counter()
    count, early, late = 0, 0.0, 0.0
    for _ in seg.stream(looped_video(seconds, 20.0, size)):
        count += 1
        if count == 100:
            early = current_rss_mib()
        elif count > 100 and count % 50 == 0:
            late = max(late, current_rss_mib())
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "frames": count, "peak_mib": peak, "early_mib": early, "late_mib": late,
        "fps": count / elapsed,
    }))  # fmt: skip


def peak_rss(backend: str, device: str, seconds: float, size: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--backend", backend, "--device", device]
    cmd += ["--rss-child", str(seconds), "--rss-size", str(size)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def quality(params: dict[str, Any], args: argparse.Namespace) -> None:
    """Print the IoU table: the backend, then (unless --no-baseline) MOG2."""
    n = len(ACTIONS) * len(args.seeds)
    print(
        f"## `{args.backend}` on the built-in generator ({n} clips of 40 frames, 128 px, per camera)\n"
    )
    rows = [(args.backend, clip_ious(params, args.device, args.seeds, False))]
    if not args.no_baseline:
        rows.append(
            ("MOG2 (no camera compensation)", clip_ious(params, args.device, args.seeds, True))
        )
    print("| method | camera | mean IoU | std (clips) | worst clip | " + " | ".join(ACTIONS) + " |")
    print("|---|---|---|---|---|" + "---|" * len(ACTIONS))
    for name, result in rows:
        for camera, items in result.items():
            scores = np.array([s for _, _, s in items])
            per_action = [np.mean([s for a, _, s in items if a == act]) for act in ACTIONS]
            print(
                f"| {name} | {camera} | {scores.mean():.3f} | {scores.std():.3f} | "
                f"{scores.min():.3f} | " + " | ".join(f"{v:.2f}" for v in per_action) + " |"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--backend", default="motion", help="segmentation.backend to measure")
    ap.add_argument("--device", default="cpu", help="device for torch backends (auto|cpu|cuda)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--no-baseline", action="store_true", help="skip the MOG2 row")
    ap.add_argument("--no-quality", action="store_true", help="skip the IoU table")
    ap.add_argument("--speed-frames", type=int, default=60)
    ap.add_argument("--rss-seconds", type=float, nargs="*", default=[30.0, 300.0])
    ap.add_argument("--rss-child", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--rss-size", type=int, default=256, help="frame size of the memory runs")
    args = ap.parse_args()
    if args.rss_child is not None:
        rss_child(args.backend, args.device, args.rss_child, args.rss_size)
        return
    one_thread()
    params = load_params(args.backend)
    if not args.no_quality:
        quality(params, args)
    print("\n| backend | size | frames/s (1 thread) |\n|---|---|---|")
    for size in (256, 512):
        print(
            f"| {args.backend} | {size} px | {speed(params, args.device, size, args.speed_frames):.1f} |"
        )
    if args.rss_seconds:
        print(
            "\n| backend | video | frames | peak RSS (MiB) | RSS at frame 100 (MiB) "
            "| largest RSS after it (MiB) | frames/s |"
        )
        print("|---|---|---|---|---|---|---|")
        for seconds in args.rss_seconds:
            got = peak_rss(args.backend, args.device, seconds, args.rss_size)
            print(
                f"| {args.backend} | {seconds:g} s at 20 fps, {args.rss_size} px | {got['frames']} | "
                f"{got['peak_mib']:.0f} | {got['early_mib']:.1f} | {got['late_mib']:.1f} | "
                f"{got['fps']:.1f} |"
            )


if __name__ == "__main__":
    main()
