"""Scaling of the per-video stages over executors (a script, not a test).

Runs ``kedro run --pipelines ingestion,preprocessing,embedding`` (``embedding.encoder=motion``)
as a subprocess in a fresh throw-away project per (data set, executor configuration), twice:
the first run computes everything, the second changes nothing (everything cached). Reports per
stage videos/s, the speed-up over one single-threaded worker, the peak RSS of the driver and of
the workers, and the cost of the cached re-run; on the 1080p set also preprocessing frames/s
against a pure PyAV decode of the same files.

    python benchmarks/scale.py --videos 200,1000 --hd 20 [--workers 2] [--out scale.md]
    python benchmarks/scale.py --videos 12 --hd 2 --hd-seconds 1     # a smoke test

Data sets (generated once into ``--cache`` and reused):

* ``short-N``: N built-in synthetic clips (``generate_dataset``: 128 px, 32 frames, 20 fps);
  the largest N is generated once and smaller sets are the first N rows of a labels CSV that
  takes the six actions in turn;
* ``hd-N``: N 1920x1080 H.264 clips of ``--hd-seconds`` at 30 fps (1 s GOP): a textured scene
  filmed 'handheld' with a moving disc, as in benchmarks/decode.py, one texture seed per clip
  (byte-identical files would be rejected as duplicates).

Each is read with ``ingestion.source=labels_csv`` (columns path,label,group).

Configurations (``--configs``):

* ``sequential``: ``runtime.executor=sequential``; items run in the driver with the libraries'
  own threads (the engine gives it cores // 1 threads for FFmpeg, OpenCV, torch, BLAS);
* ``sequential-1thread``: one single-threaded worker: ``runtime.executor=processes,
  runtime.workers=1``, with the run pinned to one CPU (``sched_setaffinity``) and
  ``os.cpu_count()`` reporting 1 in the driver, so the engine's cores // workers gives the
  worker 1 thread for FFmpeg, OpenCV, torch and BLAS (on a 2-core machine ``workers=1`` alone
  would give it 2);
* ``processes``: the default executor (pebble pool) with ``--workers`` workers (default: one per
  core, i.e. single-threaded workers);
* ``dask``: ``runtime.executor=dask, runtime.dask_address=local`` (a LocalCluster started per
  stage that has work) with ``--workers`` workers.

Timing: Kedro logs through a logging config written into the project (``KEDRO_LOGGING_CONFIG``)
with ``time.time()`` to the microsecond on every line. A node's time runs from the previous
node's "Completed node" line (the first node: from the first "Loading data from" / "Running
node" line) to its own "Completed node" line, so it includes its loads and saves (MLflow
artifacts too); a stage's time is the sum over its pipeline's nodes. Kedro start-up is process
start to the first node (imports, bootstrap, MLflow set-up), tear-down is the last node to
process exit; both are reported but left out of the stage times.

Memory: every 0.2 s the process tree of the run is listed (psutil) and ``VmHWM`` (the kernel's
peak resident set) read from ``/proc/<pid>/status``; the driver is the ``kedro`` process, the
workers are its other descendants except the multiprocessing forkserver and resource tracker.
Forked workers count pages shared with their parent in their RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
STAGES = ("ingestion", "preprocessing", "embedding")
CONFIGS = ("sequential-1thread", "sequential", "processes", "dask")
BASELINE = "sequential-1thread"
HD_W, HD_H, HD_FPS = 1920, 1080, 30
SHORT = {"num_frames": 32, "size": 128, "fps": 20.0}
SAMPLE_S = 0.2
PIN_VAR = "ACTIONLAB_BENCH_CPU"
# the driver: Kedro's CLI; with $ACTIONLAB_BENCH_CPU set, pinned (with all its children) to that
# CPU and os.cpu_count() reporting 1 (the engine sizes threads per worker from it in the driver
# and passes the number to the workers)
DRIVER = (
    "import os, sys\n"
    f"cpu = os.environ.get({PIN_VAR!r})\n"
    "if cpu:\n"
    "    os.sched_setaffinity(0, {int(cpu)})\n"
    "    os.cpu_count = lambda: 1\n"
    "from kedro.framework.cli import main\n"
    "sys.argv[0] = 'kedro'\n"
    "sys.exit(main())\n"
)
LOGGING = """version: 1
disable_existing_loggers: False
formatters:
  timed: {{format: "%(created).6f|%(name)s|%(levelname)s|%(message)s"}}
handlers:
  console: {{class: logging.StreamHandler, level: WARNING, formatter: timed, stream: ext://sys.stderr}}
  file: {{class: logging.FileHandler, level: INFO, formatter: timed, filename: "{log}", mode: w, encoding: utf8}}
loggers:
  kedro: {{level: INFO}}
  actionlab: {{level: INFO}}
root:
  level: INFO
  handlers: [console, file]
"""
TARGETS = {
    "parallel": "2 single-threaded workers (`processes`) >= 1.8x one single-threaded worker (>= 0.9x per worker)",
    "default": "the default executor (`processes`) faster than `sequential` with its libraries' own threads",
    "driver": "driver peak RSS the same at every short data set size (within 10%)",
    "rerun": "re-run <= 5% of the first run per video (Kedro start-up and tear-down aside)",
    "pyav": "preprocessing >= 0.7x of a pure PyAV decode (frames/s, `sequential` vs one PyAV process)",
}


def _load_decode() -> Any:
    """benchmarks/decode.py as a module (its clip maker, texture and pure-PyAV child)."""
    spec = importlib.util.spec_from_file_location("actionlab_bench_decode", HERE / "decode.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------- data sets
@dataclass
class DataSet:
    name: str
    labels: Path
    videos: int
    hd: bool = False
    files: list[Path] = field(default_factory=list)


def short_sets(cache: Path, sizes: list[int]) -> list[DataSet]:
    """One generated folder of max(sizes) clips; one labels CSV per size (actions in turn)."""
    import pandas as pd

    from actionlab.synthetic import ACTIONS, generate_dataset

    per_action = math.ceil(max(sizes) / len(ACTIONS))
    tag = f"{SHORT['size']}px-{SHORT['num_frames']}f"
    root = next(
        (p for p in sorted(cache.glob(f"short-{tag}-*")) if (p / "labels.csv").is_file()
         and int(p.name.rsplit("-", 1)[1]) >= per_action),
        cache / f"short-{tag}-{per_action}",
    )  # fmt: skip
    if not (root / "labels.csv").is_file():
        log(f"writing {per_action * len(ACTIONS)} short clips into {root} ...")
        started = time.perf_counter()
        generate_dataset(
            root, clips_per_action=per_action, incorrect_per_action=0, num_actors=4,
            progress=False, **SHORT,
        )  # fmt: skip
        log(f"  done in {time.perf_counter() - started:.0f} s")
    table = pd.read_csv(root / "labels.csv")
    table["turn"] = table.groupby("label").cumcount()
    table = table.sort_values(["turn", "label"], kind="stable")[["path", "label", "group"]]
    out = []
    for n in sizes:
        labels = root / f"labels_{n}.csv"
        table.head(n).to_csv(labels, index=False)
        out.append(DataSet(f"short-{n}", labels, n))
    return out


def hd_clip(path: Path, seed: int, frames: int) -> Path:
    """decode.py's 'handheld' textured scene with a moving disc, one texture seed per clip."""
    return _load_decode().make_clip(path, HD_W, HD_H, HD_FPS, frames, seed=seed)


def hd_set(cache: Path, n: int, seconds: float) -> DataSet:
    frames = max(1, round(seconds * HD_FPS))
    root = cache / f"hd-{HD_W}x{HD_H}-{frames}f"
    root.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        path = root / f"hd_{i:04d}.mp4"
        if not path.exists():
            log(f"writing {path} ({frames} frames of {HD_W}x{HD_H}) ...")
        files.append(hd_clip(path, i, frames))
    labels = root / f"labels_{n}.csv"
    rows = [f"{p.name},hd{i % 2},g{i % 4}" for i, p in enumerate(files)]
    labels.write_text("path,label,group\n" + "\n".join(rows) + "\n")
    return DataSet(f"hd-{n}", labels, n, hd=True, files=files)


# ---------------------------------------------------------------------------------- one run
def make_project(root: Path) -> Path:
    """conf/, pyproject.toml, .telemetry, an empty data/ and an own MLflow database (as
    tests/pipelines/conftest.py make_project does)."""
    shutil.copytree(ROOT / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    mlflow_conf = (ROOT / "conf" / "base" / "mlflow.yml").read_text()
    uri = f"sqlite:///{(root / 'mlflow.db').resolve()}"
    (root / "conf" / "local" / "mlflow.yml").write_text(mlflow_conf.replace("sqlite:///mlflow.db", uri))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    if (ROOT / ".telemetry").exists():
        shutil.copy(ROOT / ".telemetry", root / ".telemetry")
    (root / "src").mkdir()
    (root / "data").mkdir()
    return root


def config_params(config: str, workers: int) -> list[str]:
    if config == "sequential":
        return ["runtime.executor=sequential"]
    if config == BASELINE:
        return ["runtime.executor=processes", "runtime.workers=1"]
    if config == "processes":
        return ["runtime.executor=processes", f"runtime.workers={workers}"]
    if config == "dask":
        return ["runtime.executor=dask", "runtime.dask_address=local", f"runtime.workers={workers}"]
    raise ValueError(f"unknown configuration {config!r}; pick from {', '.join(CONFIGS)}")


@dataclass
class Run:
    ok: bool
    wall: float = 0.0
    startup: float = 0.0
    teardown: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    driver_mb: float = 0.0
    worker_mb: float = 0.0
    workers_seen: int = 0
    error: str = ""

    @property
    def work(self) -> float:
        return sum(self.stages.values())


class TreeSampler(threading.Thread):
    """Peak VmHWM of a process (the driver) and of its descendants, read every SAMPLE_S."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.driver_kb = 0
        self.peaks: dict[int, int] = {}  # worker pid -> VmHWM kB
        self.stop = threading.Event()

    @staticmethod
    def hwm_kb(pid: int) -> int:
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        return 0

    def sample(self) -> None:
        import psutil

        self.driver_kb = max(self.driver_kb, self.hwm_kb(self.pid))
        try:
            children = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            return
        for child in children:
            try:
                cmd = " ".join(child.cmdline())
                helper = "resource_tracker" in cmd or ("forkserver" in cmd and child.ppid() == self.pid)
            except psutil.Error:
                continue
            if not helper:
                self.peaks[child.pid] = max(self.peaks.get(child.pid, 0), self.hwm_kb(child.pid))

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(SAMPLE_S)


def parse_log(path: Path, node_stage: dict[str, str]) -> tuple[float | None, float | None, dict[str, float]]:
    """(first node start, last node end, seconds per stage) from the timed Kedro log."""
    start = end = None
    stages = dict.fromkeys(STAGES, 0.0)
    previous = None
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split("|", 3)
        if len(parts) < 4:
            continue
        try:
            t = float(parts[0])
        except ValueError:
            continue
        message = parts[3]
        if start is None and message.startswith(("Loading data from", "Running node:")):
            start = previous = t
        if message.startswith("Completed node: ") and previous is not None:
            name = message.removeprefix("Completed node: ").strip()
            stage = node_stage.get(name, "other")
            stages[stage] = stages.get(stage, 0.0) + (t - previous)
            previous = end = t
    return start, end, stages


def node_stages() -> dict[str, str]:
    """Node name -> pipeline name, from the pipelines' own definitions."""
    out = {}
    for stage in STAGES:
        module = importlib.import_module(f"actionlab.pipelines.{stage}.pipeline")
        for node in module.create_pipeline().nodes:
            out[node.name] = stage
    return out


def kedro_run(project: Path, params: list[str], tag: str, *, pin: bool, node_stage: dict[str, str], timeout: float) -> Run:
    """One ``kedro run`` of the three pipelines in ``project``, timed and sampled."""
    logfile = project / f"{tag}.log"
    logconf = project / f"logging-{tag}.yml"
    logconf.write_text(LOGGING.format(log=logfile))
    env = {
        **os.environ,
        "KEDRO_LOGGING_CONFIG": str(logconf),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    env.pop(PIN_VAR, None)
    if pin:
        env[PIN_VAR] = str(min(os.sched_getaffinity(0)))
    cmd = [
        sys.executable, "-c", DRIVER, "run", "--pipelines", ",".join(STAGES),
        "--params", ",".join(params),
    ]  # fmt: skip
    out_path, err_path = project / f"{tag}.stdout", project / f"{tag}.stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.time()
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=project, env=env, stdout=out, stderr=err)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
            err.write(f"\n[scale.py] killed after {timeout:g} s\n".encode())
        wall = time.perf_counter() - began
        t1 = t0 + wall
        sampler.stop.set()
        sampler.join()
    if rc != 0:
        tail = "\n".join(err_path.read_text(errors="replace").splitlines()[-40:])
        shown = " ".join(cmd[:2] + ["<driver>"] + cmd[3:])
        log(f"FAILED (exit code {rc}) in {project}:\n  {shown}\n--- stderr tail ---\n{tail}\n---")
        return Run(False, wall, error=f"exit code {rc}")
    start, end, stages = parse_log(logfile, node_stage)
    if start is None or end is None:
        log(f"no node timings in {logfile}; is KEDRO_LOGGING_CONFIG honoured?")
        return Run(False, wall, error="no node timings in the log")
    return Run(
        True, wall, startup=start - t0, teardown=t1 - end, stages=stages,
        driver_mb=sampler.driver_kb / 1024, worker_mb=max(sampler.peaks.values(), default=0) / 1024,
        workers_seen=len(sampler.peaks),
    )  # fmt: skip


# ---------------------------------------------------------------------------------- measures
@dataclass
class Result:
    config: str
    first: Run
    second: Run
    frames: int = 0  # source frames of the data set (from the manifest)


def manifest_frames(project: Path) -> int:
    import pandas as pd

    path = project / "data" / "02_intermediate" / "manifest.parquet"
    if not path.is_file():
        return 0
    manifest = pd.read_parquet(path)
    return int(manifest.loc[manifest["status"] == "accepted", "frames"].sum())


def pure_pyav(files: list[Path], work: Path) -> tuple[int, float]:
    """decode.py's pure PyAV child on each file (its own timer: process start aside): frames, s."""
    frames, seconds = 0, 0.0
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for path in files:
        cmd = [sys.executable, str(HERE / "decode.py"), "--child", "pyav", str(path), str(work / "unused.h5")]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if r.returncode != 0:
            log(f"FAILED: {' '.join(cmd)}\n{r.stderr[-3000:]}")
            raise SystemExit(1)
        got = json.loads(r.stdout.strip().splitlines()[-1])
        frames += int(got["frames"])
        seconds += float(got["seconds"])
    return frames, seconds


def run_dataset(data: DataSet, configs: list[str], *, workers: int, work: Path, timeout: float, node_stage: dict[str, str]) -> list[Result]:
    results = []
    params_data = [
        "ingestion.source=labels_csv", f"ingestion.root={data.labels}", "ingestion.group_column=group",
        "ingestion.progress=false", "embedding.encoder=motion", "runtime.progress=false",
    ]  # fmt: skip
    for config in configs:
        project = make_project(work / data.name / config)
        params = params_data + config_params(config, workers)
        log(f"[{data.name}] {config}: first run ...")
        first = kedro_run(project, params, "run1", pin=config == BASELINE, node_stage=node_stage, timeout=timeout)
        second = Run(False, error="first run failed")
        if first.ok:
            log(f"[{data.name}] {config}: first run {first.wall:.1f} s; re-run (nothing changed) ...")
            second = kedro_run(project, params, "run2", pin=config == BASELINE, node_stage=node_stage, timeout=timeout)
            if second.ok:
                log(f"[{data.name}] {config}: re-run {second.wall:.1f} s")
        results.append(Result(config, first, second, manifest_frames(project) if first.ok else 0))
    return results


# ---------------------------------------------------------------------------------- report
def _f(value: float | None, fmt: str = ".1f") -> str:
    return "n/a" if value is None or not math.isfinite(value) else format(value, fmt)


def table(data: DataSet, results: list[Result], pyav_fps: float | None) -> str:
    base = next((r.first for r in results if r.config == BASELINE and r.first.ok), None)
    head = [
        "configuration", *(f"{s} videos/s" for s in STAGES), "all stages videos/s",
        f"speed-up over {BASELINE} (ingest / preproc / embed / all)", "driver peak RSS MB",
        "worker peak RSS MB (worker processes seen)", "first run wall s (start-up s)", "re-run wall s (start-up s)",
        "re-run per video, % of first",
    ]  # fmt: skip
    if data.hd:
        head.append("preprocessing frames/s (x pure PyAV)")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        a, b = r.first, r.second
        if not a.ok:
            lines.append(f"| {r.config} | failed: {a.error} |" + " |" * (len(head) - 2))
            continue
        vps = [data.videos / a.stages[s] if a.stages.get(s) else None for s in STAGES]
        vps.append(data.videos / a.work if a.work else None)
        if base is not None:
            ups = [base.stages[s] / a.stages[s] if a.stages.get(s) else None for s in STAGES]
            ups.append(base.work / a.work if a.work else None)
            speed = " / ".join(_f(u, ".2f") for u in ups) + "x"
        else:
            speed = "n/a"
        workers = f"{_f(a.worker_mb, '.0f')} ({a.workers_seen})" if a.workers_seen else "- (in driver)"
        rerun = f"{b.wall:.1f} ({b.startup:.1f})" if b.ok else f"failed: {b.error}"
        share = _f(100 * b.work / a.work, ".1f") if b.ok and a.work else "n/a"
        row = [
            r.config, *(_f(v) for v in vps), speed, _f(max(a.driver_mb, b.driver_mb), ".0f"), workers,
            f"{a.wall:.1f} ({a.startup:.1f})", rerun, share,
        ]  # fmt: skip
        if data.hd:
            pre = a.stages.get("preprocessing")
            fps = r.frames / pre if pre and r.frames else None
            ratio = f" ({fps / pyav_fps:.2f}x)" if fps and pyav_fps else ""
            row.append(f"{_f(fps, '.0f')}{ratio}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def verdicts(all_results: dict[str, list[Result]], sets: dict[str, DataSet], workers: int, pyav_fps: float | None) -> list[str]:
    out = []

    def get(results: list[Result], config: str) -> Run | None:
        run = next((r.first for r in results if r.config == config), None)
        return run if run is not None and run.ok and run.work else None

    def mark(ok: bool) -> str:
        return "met" if ok else "**not met**"

    for name, results in all_results.items():
        base, proc, seq = get(results, BASELINE), get(results, "processes"), get(results, "sequential")
        if base and proc:
            up, need = base.work / proc.work, 0.9 * workers
            out.append(f"- {name}: `processes` ({workers} workers) {up:.2f}x one single-threaded worker (target >= {need:.1f}x): {mark(up >= need)}")
        if proc and seq:
            up = seq.work / proc.work
            out.append(f"- {name}: `processes` {up:.2f}x `sequential` (target > 1x): {mark(up > 1)}")
        shares = [(r.config, r.second.work / r.first.work) for r in results if r.first.ok and r.second.ok and r.first.work]
        if shares:
            worst = max(shares, key=lambda s: s[1])
            out.append(f"- {name}: re-run per video at most {100 * worst[1]:.1f}% of the first run ({worst[0]}; target <= 5%): {mark(worst[1] <= 0.05)}")
        if sets[name].hd and pyav_fps and seq:
            r = next(r for r in results if r.config == "sequential")
            fps = r.frames / seq.stages["preprocessing"] if seq.stages.get("preprocessing") else 0
            out.append(f"- {name}: `sequential` preprocessing {fps:.0f} frames/s = {fps / pyav_fps:.2f}x pure PyAV {pyav_fps:.0f} frames/s (target >= 0.7x): {mark(fps >= 0.7 * pyav_fps)}")
    shorts = [n for n in all_results if not sets[n].hd]
    if len(shorts) >= 2:
        configs = {r.config for n in shorts for r in all_results[n]}
        for config in [c for c in CONFIGS if c in configs]:
            peaks = {}
            for n in shorts:
                r = next((r for r in all_results[n] if r.config == config), None)
                if r and r.first.ok:
                    peaks[n] = max(r.first.driver_mb, r.second.driver_mb if r.second.ok else 0)
            if len(peaks) >= 2:
                lo, hi = min(peaks.values()), max(peaks.values())
                text = ", ".join(f"{n}: {v:.0f} MB" for n, v in peaks.items())
                out.append(f"- driver peak RSS of `{config}` by data set size: {text} (+{100 * (hi / lo - 1):.0f}%; target within 10%): {mark(hi <= 1.1 * lo)}")
            # per-video cost without the fixed per-run cost (plots, MLflow, pool start): the
            # slope between the smallest and the largest set, re-run against first run
            small, large = min(shorts, key=lambda n: sets[n].videos), max(shorts, key=lambda n: sets[n].videos)
            rs = [next((r for r in all_results[n] if r.config == config), None) for n in (small, large)]
            if all(r and r.first.ok and r.second.ok for r in rs):
                dn = sets[large].videos - sets[small].videos
                first = (rs[1].first.work - rs[0].first.work) / dn
                second = (rs[1].second.work - rs[0].second.work) / dn
                if first > 0:
                    out.append(
                        f"- `{config}` marginal cost per video ({small} -> {large}): first run {1000 * first:.1f} ms, "
                        f"re-run {1000 * second:.2f} ms = {100 * second / first:.1f}% (target <= 5%): {mark(second <= 0.05 * first)}"
                    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", default="200,1000", help="short data set sizes, comma-separated ('' or 0: none)")
    ap.add_argument("--hd", type=int, default=20, help="1920x1080 clips in the HD set (0: no HD set)")
    ap.add_argument("--hd-seconds", type=float, default=3.0, help="length of each HD clip (30 fps)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="workers of `processes` and `dask` (default: one per core)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated subset of {', '.join(CONFIGS)}")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "actionlab-scale-cache", help="generated videos, reused across runs")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the throw-away projects here (default: a temp dir, removed)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds one kedro run may take")
    ap.add_argument("--out", type=Path, default=None, help="also write the tables here (markdown)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))  # generate with (and benchmark) this checkout
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in configs:
        config_params(c, args.workers)  # unknown names fail here, before any work
    sizes = [int(v) for v in args.videos.split(",") if v.strip() and int(v) > 0]
    args.cache.mkdir(parents=True, exist_ok=True)

    sets = short_sets(args.cache, sizes) if sizes else []
    if args.hd > 0:
        sets.append(hd_set(args.cache, args.hd, args.hd_seconds))
    node_stage = node_stages()
    tmp = tempfile.TemporaryDirectory(prefix="actionlab-scale-") if args.workdir is None else None
    work = Path(tmp.name) if tmp else args.workdir
    work.mkdir(parents=True, exist_ok=True)
    try:
        pyav_fps = None
        all_results: dict[str, list[Result]] = {}
        for data in sets:
            if data.hd:
                log(f"[{data.name}] pure PyAV decode of {len(data.files)} files ...")
                frames, seconds = pure_pyav(data.files, work)
                pyav_fps = frames / seconds
            all_results[data.name] = run_dataset(data, configs, workers=args.workers, work=work, timeout=args.timeout, node_stage=node_stage)
    finally:
        if tmp is not None:
            tmp.cleanup()

    import av

    parts = [
        f"Machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, PyAV {av.__version__}; `--workers {args.workers}`; "
        f"encoder `motion`; one run per configuration.",
    ]
    for data in sets:
        what = (
            f"{data.videos} clips of {HD_W}x{HD_H}, {round(args.hd_seconds * HD_FPS)} frames each"
            if data.hd else f"{data.videos} built-in clips of {SHORT['size']} px, {SHORT['num_frames']} frames each"
        )  # fmt: skip
        parts.append(f"### {data.name}: {what}")
        if data.hd and pyav_fps:
            parts.append(f"Pure PyAV decode (every frame to rgb24, default threading, one process): {pyav_fps:.0f} frames/s.")
        parts.append(table(data, all_results[data.name], pyav_fps if data.hd else None))
    parts.append("### Targets")
    parts.append("\n".join(f"- {t}" for t in TARGETS.values()))
    parts.append("Measured:\n" + "\n".join(verdicts(all_results, {d.name: d for d in sets}, args.workers, pyav_fps)))
    text = "\n\n".join(parts) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        log(f"wrote {args.out}")
    failed = [r.config for rs in all_results.values() for r in rs if not (r.first.ok and r.second.ok)]
    if failed:
        log(f"some runs failed: {', '.join(failed)}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
