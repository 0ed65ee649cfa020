"""Benchmark the video core's decoding against the ffmpeg CLI (a script, not a test).

Generates 300-frame H.264 clips (256x256 and 1920x1080: a textured scene filmed 'handheld',
i.e. slowly panning, zooming and rolling, with a moving disc) and reports:

* sequential decode speed of ``iter_frames`` (RGB uint8 arrays) vs
  ``ffmpeg -i X -pix_fmt rgb24 -f null -`` on the same file, and their ratio;
* the speed-up of reading 8 uniformly sampled frames of 300 with ``read_frames`` over a full
  decode.

Each clip is encoded twice: with a 1-second GOP (keyint 30, typical of phone and camera
recordings) and with x264's default keyint (250, i.e. ~2 GOPs in the clip). Timings are the
best of ``--repeat`` runs (the machine is shared). The markdown table is printed and written
into docs/benchmarks.md under "## Video decoding" (other sections are kept).

    python benchmarks/decode.py [--repeat 3] [--workdir DIR] [--no-doc]

``--clipfile`` measures preprocessing into a chunked clip file instead (no doc update):
``write_clip`` (decode + crop + resize + HDF5 write, ``strategy=step, step=1``) against a pure
PyAV decode (``for f in container.decode(video=0): f.to_ndarray(format="rgb24")``) of the same
1080p file, each in its own subprocess so that peak RSS (``ru_maxrss``) is the case's own:

    python benchmarks/decode.py --clipfile [--frames 600] [--video FILE.mp4] [--repeat 3]

ffmpeg: ``apt-get install -y ffmpeg`` (the script says so and skips that column if missing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

from actionlab.video import iter_frames, read_frames, uniform_indices

N_FRAMES = 300
FPS = 30
SPARSE = 8
ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Video decoding"


def texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Multi-scale smooth noise (a 1/f-like 'natural' texture), RGB uint8."""
    rng = np.random.default_rng(seed)
    out = np.zeros((h, w, 3), np.float32)
    for k, amp in ((64, 1.0), (16, 0.5), (4, 0.2)):
        small = rng.standard_normal((h // k + 2, w // k + 2, 3)).astype(np.float32)
        big = cv2.resize(small, (w + 2 * k, h + 2 * k), interpolation=cv2.INTER_CUBIC)
        out += amp * big[k : k + h, k : k + w]
    out = (out - out.min()) / (out.max() - out.min()) * 255
    return out.astype(np.uint8)


def make_clip(
    path: Path, w: int, h: int, keyint: int | None, frames: int = N_FRAMES, *, seed: int = 0
) -> Path:
    """Encode ``frames`` (default N_FRAMES) of a textured scene filmed 'handheld' (slow pan, zoom
    and roll) with a moving disc, as H.264 (PyAV libx264 veryfast, crf 23); ``seed`` picks the
    texture and the phase of the motion (distinct files for distinct seeds)."""
    if path.exists():
        return path
    scene = texture(int(h * 1.6), int(w * 1.6), seed=seed)
    sh, sw = scene.shape[:2]
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as c:
        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        opts = {"preset": "veryfast", "crf": "23"}
        if keyint:
            opts["g"] = str(keyint)
        s.options = opts
        for j in range(frames):
            i = j + 17 * seed  # another phase of the motion per seed
            angle, zoom = 8 * np.sin(i / 60), 1.0 + 0.15 * np.sin(i / 45)
            m = cv2.getRotationMatrix2D((sw / 2 + 0.15 * w * np.sin(i / 30), sh / 2), angle, zoom)
            m[:, 2] -= ((sw - w) / 2, (sh - h) / 2)
            f = cv2.warpAffine(scene, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            cx = int(w / 2 + w / 3 * np.sin(i / 20))
            cv2.circle(f, (cx, h // 2), max(8, h // 8), (255, 64, 0), -1)
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    tmp.rename(path)
    return path


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def ffmpeg_run(path: Path) -> float | None:
    """One ffmpeg decode + rgb24 conversion: its ``-benchmark`` rtime (process start excluded)."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        return None
    cmd = [exe, "-hide_banner", "-nostats", "-benchmark", "-i", str(path), "-pix_fmt", "rgb24", "-f", "null", "-"]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    m = re.search(r"rtime=([0-9.]+)s", r.stderr)
    return float(m.group(1)) if m else wall


def measure(path: Path, repeat: int) -> dict[str, float | None]:
    """Best-of-``repeat`` times; the three measurements are interleaved so that load changes
    on the shared machine hit them alike."""
    idx = uniform_indices(N_FRAMES, SPARSE)
    kept: dict[int, np.ndarray] = {}

    def full() -> None:
        n = 0
        for i, _, rgb in iter_frames(path):
            n += 1
            if i in idx:
                kept[i] = rgb
        assert n == N_FRAMES, f"{path}: decoded {n} frames"

    full()
    sparse = read_frames(path, idx)
    assert all(np.array_equal(sparse[k], kept[int(i)]) for k, i in enumerate(idx)), "sparse != full"
    runs: dict[str, list[float]] = {"full": [], "sparse": [], "ffmpeg": []}
    for _ in range(repeat):
        runs["full"].append(timed(full))
        runs["sparse"].append(timed(lambda: read_frames(path, idx)))
        ff = ffmpeg_run(path)
        if ff is not None:
            runs["ffmpeg"].append(ff)
    return {k: (min(v) if v else None) for k, v in runs.items()}


def ffmpeg_version() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        return "not installed"
    first = subprocess.run([exe, "-version"], check=False, capture_output=True, text=True).stdout.splitlines()[0]
    return first.split(" Copyright")[0].replace("ffmpeg version ", "")


CLIPFILE_CASES = {
    "pyav": "pure PyAV decode + to_ndarray(rgb24), default threads",
    "pyav_auto": "pure PyAV decode + to_ndarray(rgb24), thread_type AUTO",
    "write_clip": "write_clip (lzf) step=1 size=128",
    "write_clip_gzip": "write_clip (gzip 1) step=1 size=128",
    "load_clip": "load_clip step=1 size=128 (in memory)",
}


def child(case: str, video: Path, out: Path) -> None:
    """Run one case in this (fresh) process; print frames, seconds, peak RSS as JSON."""
    t = time.perf_counter()
    extra: dict[str, float] = {}
    if case.startswith("pyav"):
        n = 0
        with av.open(str(video)) as c:
            if case == "pyav_auto":
                c.streams.video[0].thread_type = "AUTO"
            for f in c.decode(video=0):
                f.to_ndarray(format="rgb24")
                n += 1
    elif case.startswith("write_clip"):
        from actionlab.video.clipfile import write_clip

        comp = "gzip" if case.endswith("gzip") else "lzf"
        n = write_clip(out, video, strategy="step", step=1, size=128, compression=comp).frames
        extra["file_mb"] = out.stat().st_size / 1e6
    else:
        from actionlab.video import load_clip

        n = len(load_clip(video, strategy="step", step=1, size=128).indices)
    seconds = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"frames": n, "seconds": seconds, "rss_mb": rss, **extra}))


def clipfile_bench(video: Path, work: Path, repeat: int, cases: list[str]) -> None:
    """Interleave ``repeat`` subprocess runs of each case; print a markdown table of the best."""
    best: dict[str, dict[str, float]] = {}
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for _ in range(repeat):
        for case in cases:
            out = work / f"{case}.h5"
            cmd = [sys.executable, __file__, "--child", case, str(video), str(out)]
            r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout)
            out.unlink(missing_ok=True)
            if case not in best or r["seconds"] < best[case]["seconds"]:
                best[case] = {**r, "rss_mb": max(r["rss_mb"], best.get(case, {}).get("rss_mb", 0))}
    base = best.get("pyav", next(iter(best.values())))
    print(f"video: {video} ({video.stat().st_size / 1e6:.0f} MB), best of {repeat}")
    print("| case | frames | fps | x pure PyAV | peak RSS (MB) | clip file (MB) |")
    print("|---|---|---|---|---|---|")
    for case, r in best.items():
        fps = r["frames"] / r["seconds"]
        ratio = fps / (base["frames"] / base["seconds"])
        size = f"{r['file_mb']:.1f}" if "file_mb" in r else ""
        print(f"| {CLIPFILE_CASES[case]} | {r['frames']} | {fps:.0f} | {ratio:.2f} | {r['rss_mb']:.0f} | {size} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept")
    ap.add_argument("--workdir", type=Path, default=None, help="keep generated clips here (default: temp dir)")
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    ap.add_argument("--clipfile", action="store_true", help="write_clip vs pure PyAV at 1080p, fps + RSS")
    ap.add_argument("--frames", type=int, default=600, help="--clipfile: frames of the generated video")
    ap.add_argument("--video", type=Path, default=None, help="--clipfile: use this video instead")
    ap.add_argument(
        "--cases", default="pyav,pyav_auto,write_clip,write_clip_gzip,load_clip",
        help=f"--clipfile: comma-separated subset of {', '.join(CLIPFILE_CASES)}",
    )
    ap.add_argument("--child", nargs=3, metavar=("CASE", "VIDEO", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    if args.clipfile:
        with tempfile.TemporaryDirectory(prefix="actionlab-bench-") as tmp:
            work = args.workdir or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            video = args.video or make_clip(work / f"hd_{args.frames}.mp4", 1920, 1080, 30, args.frames)
            clipfile_bench(video, Path(tmp), args.repeat, args.cases.split(","))
        return

    if shutil.which("ffmpeg") is None:
        print("WARNING: ffmpeg is not installed, the ffmpeg column is skipped. "
              "Install it with: apt-get install -y ffmpeg", file=sys.stderr)

    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="actionlab-bench-")
        work = Path(tmp.name)
    else:
        work = args.workdir
        work.mkdir(parents=True, exist_ok=True)
    clips = [
        ("256x256", 256, 256, 30),
        ("1920x1080", 1920, 1080, 30),
        ("256x256", 256, 256, None),
        ("1920x1080", 1920, 1080, None),
    ]
    rows = []
    try:
        for label, w, h, keyint in clips:
            gop = f"{keyint}" if keyint else "250 (x264 default)"
            path = make_clip(work / f"clip_{w}x{h}_g{keyint or 'default'}.mp4", w, h, keyint)
            print(f"measuring {label} GOP {gop} ...", file=sys.stderr, flush=True)
            m = measure(path, args.repeat)
            core_fps = N_FRAMES / m["full"]
            ff_fps = N_FRAMES / m["ffmpeg"] if m["ffmpeg"] else None
            rows.append(
                f"| {label} | {gop} | {core_fps:.0f} | "
                + (f"{ff_fps:.0f} | {core_fps / ff_fps:.2f}" if ff_fps else "n/a (ffmpeg missing) | n/a")
                + f" | {m['full']:.3f} | {m['sparse']:.3f} | {m['full'] / m['sparse']:.1f}x |"
            )
    finally:
        if tmp is not None:
            tmp.cleanup()

    table = "\n".join(
        [
            "| clip (300 frames, H.264) | GOP | video core `iter_frames` (fps) | `ffmpeg -pix_fmt rgb24 -f null` (fps) "
            "| ratio core/ffmpeg | full decode (s) | `read_frames` 8 of 300 (s) | sparse speed-up |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    env = (
        f"Machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), shared with "
        f"other jobs; Python {platform.python_version()}, PyAV {av.__version__} "
        f"(bundled FFmpeg {av.ffmpeg_version_info}), system ffmpeg {ffmpeg_version()}."
    )
    print(table)
    print()
    print(env)
    if not args.no_doc:
        write_doc(table, env, args.repeat)


def write_doc(table: str, env: str, repeat: int) -> None:
    body = f"""{SECTION}

Reproduce: `python benchmarks/decode.py` (`--repeat N`, `--workdir DIR` to keep the generated
clips; the ffmpeg column needs `apt-get install -y ffmpeg`). {env}

Clips: 300 frames at 30 fps of a multi-scale texture filmed "handheld" (slow pan, zoom and
roll) with a moving disc, encoded by PyAV's libx264 (veryfast, crf 23), once with a 1 s GOP
(keyint 30, as phones and cameras record) and once with x264's default keyint 250. Times are
the best of {repeat} interleaved runs (the machine is shared, so runs vary by 10-20%).

* "video core" is `iter_frames` yielding RGB uint8 arrays (frame threads, one reused swscale
  converter); ffmpeg's time is its `-benchmark` rtime (decode + rgb24 conversion, process
  start excluded). Note the two use different FFmpeg builds (see above).
* the sparse read is `read_frames(path, uniform_indices(300, 8))`: a demux-only scan of the
  timestamps, then one forward pass that seeks once per GOP holding wanted frames, lets the
  decoder drop unwanted non-reference frames, drains the decoder after the last wanted packet
  of each GOP and converts only the wanted frames. Its output is checked to equal the full
  decode.

{table}

Sparse reading cannot avoid decoding each visited GOP's keyframe and the reference frames
between it and the wanted frame. With a 1 s GOP the 8 wanted frames sit in 8 GOPs: 8
keyframes (about 27 ms each at 1080p single-threaded, against about 6 ms for a P/B frame)
plus about 7 reference frames per GOP, i.e. roughly a fifth of the full decode's work; and
these short chains (keyframe first) parallelise worse over frame threads than a full decode.
This bounds the speed-up at about 4-5x on 2 idle cores; with the machine loaded by other jobs
we measured 2.3-4.9x across runs. With the default 250-frame GOP the P-frame chain up to the
last wanted index must be decoded, hence about 2-3x.
"""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: body + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + body
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text.rstrip("\n") + "\n")
    print(f"updated {DOC.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
