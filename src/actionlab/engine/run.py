"""Run per-video items in this process, a local process pool or on a Dask cluster, with one code path.

An *item function* ``fn(out, **args) -> dict`` computes one item, writes its data to the local
path ``out`` (``None`` for record-only stores) and returns a small JSON-able record. The engine
skips items already done, runs the rest where ``runtime.executor`` says, writes each record after
its data, isolates failures (an exception, a timeout, a worker killed by the out-of-memory
killer) into the stage's outcome list, and stops the run only on a bug in our own code, the same
error on every item, or when every item failed.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm.auto import tqdm

from actionlab.engine.config import RuntimeConfig
from actionlab.engine.errors import ItemTimeout, RunStopped, error_shape, is_own_bug
from actionlab.engine.store import PartitionStore

logger = logging.getLogger(__name__)
DONE, CACHED, FAILED = "done", "cached", "failed"
# this many failures in a row with one error shape, before any success: a set-up problem
# (missing weights, a wrong path for every file), not bad videos; stop
SAME_ERROR_STOP = 20
ItemFn = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Item:
    """One unit of per-video work: its cache key and the (small, picklable) arguments."""

    key: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Batch:
    """The work of one stage: what a planning node returns and the item store runs."""

    stage: str
    fn: ItemFn
    items: list[Item]
    runtime: dict[str, Any]
    shared: Any = None

    def run(self, store: PartitionStore) -> list[Outcome]:
        """Run the items into ``store``; failed items leave a note with their reason."""
        outcomes = run_items(
            self.fn, self.items, store, self.runtime, stage=self.stage, shared=self.shared
        )
        for outcome in outcomes:
            if outcome.status == FAILED:
                store.write_failure(outcome.key, outcome.error)
        stale = store.stale(item.key for item in self.items)
        if stale and RuntimeConfig(**self.runtime).remove_stale:
            store.remove(stale)
            logger.info("%s: removed %d stale items from %s", self.stage, len(stale), store.root)
        elif stale:
            logger.info(
                "%s: %d stored items in %s are not used by this run (older parameters or removed "
                "videos), e.g. %s; delete them with --params runtime.remove_stale=true",
                self.stage, len(stale), store.root, stale[0],
            )  # fmt: skip
        return outcomes


@dataclass
class Outcome:
    """What became of one item: ``done`` (computed now), ``cached`` or ``failed`` with the reason."""

    key: str
    status: str
    record: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    bug: bool = False
    traceback: str = ""

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row.pop("traceback")
        row.pop("bug")
        return row


# ---------------------------------------------------------------------------------- worker side
THREADS_VAR = "ACTIONLAB_THREADS"
THREAD_VARS = (THREADS_VAR, "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def current_threads() -> int | None:
    """Library threads this worker may use (set by the engine; None outside an engine run)."""
    value = os.environ.get(THREADS_VAR)
    return int(value) if value else None


def limit_threads(n: int) -> None:
    """Cap torch, OpenCV and BLAS/OpenMP threads in this process (workers x threads <= cores)."""
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    with contextlib.suppress(ImportError):
        import cv2

        cv2.setNumThreads(n)
    import sys

    if "torch" in sys.modules:  # importing torch here would cost every worker a second
        torch = sys.modules["torch"]
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)


@contextlib.contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    """Raise ItemTimeout after ``seconds`` (SIGALRM: main thread of a POSIX process only)."""
    usable = (
        seconds is not None and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )  # fmt: skip
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise ItemTimeout(f"stopped after runtime.item_timeout_s={seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _watchdog(seconds: float | None, store: PartitionStore, key: str) -> Iterator[None]:
    """Off the main thread (a Dask worker) a hung item cannot be interrupted: after ``seconds``
    the watchdog notes the timeout and ends the worker process; its nanny starts a new one."""
    if seconds is None or threading.current_thread() is threading.main_thread():
        yield
        return

    def expire() -> None:
        with contextlib.suppress(Exception):
            store.write_failure(
                key, f"ItemTimeout: stopped after runtime.item_timeout_s={seconds:g} s"
            )
        os._exit(70)

    timer = threading.Timer(float(seconds), expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


_WORKER: dict[str, Any] = {}  # what a pool worker received once at start (shared objects)


def execute(
    fn: ItemFn,
    item: Item,
    store: PartitionStore,
    threads: int | None,
    timeout: float | None,
    *,
    shared: Any = None,
) -> Outcome:
    """Run one item where this is called (worker or driver): data, then record; never raises for
    a failure of the item itself. ``shared`` (or, in a pool worker, what the pool was started
    with) is passed to ``fn`` as ``shared=`` when there is one."""
    if threads is not None:
        limit_threads(threads)
    shared = _WORKER.get("shared") if shared is None else shared
    kwargs = dict(item.args, **({"shared": shared} if shared is not None else {}))
    started = time.perf_counter()
    try:
        with _alarm(timeout), _watchdog(timeout, store, item.key), store.writing(item.key) as out:
            record = dict(fn(out, **kwargs) or {})
        store.write_record(item.key, record)
        return Outcome(item.key, DONE, record, seconds=time.perf_counter() - started)
    except Exception as exc:  # recorded per item; the driver decides whether the run goes on
        return Outcome(
            item.key, FAILED, error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - started,
            bug=is_own_bug(exc), traceback=traceback.format_exc(),
        )  # fmt: skip


def _init_worker(threads: int, shared: Any) -> None:
    limit_threads(threads)
    _WORKER["shared"] = shared


# ---------------------------------------------------------------------------------- executors
@dataclass(frozen=True)
class Grouped:
    """An item function that can also run several items in one call (a GPU batch across clips).

    ``many(outs, args, shared=...)`` gets the items' output paths and arguments and returns
    their records in order. The sequential executor (the one used for a GPU) calls it for
    ``size`` items at a time; pools and clusters call ``one`` per item. When a group fails,
    its items run again one by one, so one bad clip fails alone.
    """

    one: ItemFn
    many: Callable[..., list[dict[str, Any]]]
    size: int

    def __call__(self, out: Any, **kwargs: Any) -> dict[str, Any]:
        return self.one(out, **kwargs)


def execute_group(
    fn: Grouped, items: Sequence[Item], store: PartitionStore, runtime: RuntimeConfig, shared: Any
) -> list[Outcome] | None:
    """Run ``items`` in one ``fn.many`` call; None when it failed (the caller retries singly)."""
    started = time.perf_counter()
    timeout = runtime.item_timeout_s * len(items) if runtime.item_timeout_s else None
    try:
        with contextlib.ExitStack() as stack, _alarm(timeout):
            outs = [stack.enter_context(store.writing(item.key)) for item in items]
            extra = {"shared": shared} if shared is not None else {}
            records = fn.many(outs, [item.args for item in items], **extra)
    except Exception as exc:
        if is_own_bug(exc):  # not the items' fault: stop the run with the traceback
            error, tb = f"{type(exc).__name__}: {exc}", traceback.format_exc()
            return [Outcome(item.key, FAILED, error=error, bug=True, traceback=tb) for item in items]
        logger.info("a group of %d items failed (%s: %s); running them one by one", len(items), type(exc).__name__, exc)
        return None
    seconds = (time.perf_counter() - started) / len(items)
    for item, record in zip(items, records, strict=True):
        store.write_record(item.key, record)
    return [Outcome(item.key, DONE, record, seconds=seconds) for item, record in zip(items, records, strict=True)]


def _sequential(
    fn: ItemFn, items: Sequence[Item], store: PartitionStore, runtime: RuntimeConfig, shared: Any
) -> Iterator[Outcome]:
    size = fn.size if isinstance(fn, Grouped) else 1
    with _threads_restored():
        limit_threads(runtime.threads_per_worker())
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            grouped = execute_group(fn, chunk, store, runtime, shared) if size > 1 else None
            if grouped is not None:
                yield from grouped
                continue
            for item in chunk:
                yield execute(fn, item, store, None, runtime.item_timeout_s, shared=shared)


@contextlib.contextmanager
def _threads_restored() -> Iterator[None]:
    """Put this process's thread settings back after running items in it (the driver)."""
    import sys

    env = {var: os.environ.get(var) for var in THREAD_VARS}
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    cv2 = sys.modules.get("cv2")
    cv2_threads = cv2.getNumThreads() if cv2 is not None else None
    try:
        yield
    finally:
        for var, value in env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        if torch_threads is not None:
            sys.modules["torch"].set_num_threads(torch_threads)
        if cv2_threads is not None:
            sys.modules["cv2"].setNumThreads(cv2_threads)


def _processes(
    fn: ItemFn, items: Sequence[Item], store: PartitionStore, runtime: RuntimeConfig, shared: Any
) -> Iterator[Outcome]:
    from pebble import ProcessExpired, ProcessPool

    threads = runtime.threads_per_worker()
    context = multiprocessing.get_context("forkserver")
    # the timeout is enforced inside the worker (SIGALRM) and, as a last resort, by pebble
    # killing a worker that ignores it (stuck in C code), with a grace period
    hard = runtime.item_timeout_s + 30.0 if runtime.item_timeout_s else None
    with ProcessPool(
        max_workers=runtime.n_workers(),
        initializer=_init_worker,
        initargs=(threads, shared),
        context=context,
    ) as pool:
        futures = {
            pool.schedule(
                execute, args=(fn, item, store, threads, runtime.item_timeout_s), timeout=hard
            ): item
            for item in items
        }
        try:
            for future in cf.as_completed(futures):
                item = futures[future]
                try:
                    yield future.result()
                except cf.TimeoutError:
                    yield Outcome(item.key, FAILED, error=f"ItemTimeout: killed after {hard:g} s")
                except ProcessExpired as err:
                    yield Outcome(item.key, FAILED, error=_died(err.exitcode))
        finally:
            for future in futures:
                future.cancel()


def _died(exitcode: int | None) -> str:
    why = " (killed: out of memory?)" if exitcode in (-9, 137) else ""
    return f"WorkerDied: the worker process ended with exit code {exitcode}{why}"


@contextlib.contextmanager
def dask_client(runtime: RuntimeConfig) -> Iterator[Any]:
    """A client of the scheduler at ``runtime.dask_address``, or of a LocalCluster for ``local``."""
    import dask
    from distributed import Client, LocalCluster

    address = runtime.dask_address
    if not address:
        raise ValueError(
            "runtime.executor=dask needs runtime.dask_address: the scheduler's address "
            "(tcp://host:8786) or 'local' to start a LocalCluster on this machine."
        )
    if address == "local":
        # a failed item is recorded by us, never retried on another worker
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            cluster = LocalCluster(
                n_workers=runtime.n_workers(), threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.WARNING,
            )  # fmt: skip
            with cluster, Client(cluster) as client:
                yield client
        return
    with Client(address) as client:
        yield client


def _dask(
    fn: ItemFn, items: Sequence[Item], store: PartitionStore, runtime: RuntimeConfig, shared: Any
) -> Iterator[Outcome]:
    from distributed import as_completed

    with dask_client(runtime) as client:
        cores = sum(client.nthreads().values()) or 1
        threads = max(1, (os.cpu_count() or 1) // cores) if runtime.dask_address == "local" else 1
        if shared is not None:  # shipped once to every worker, not once per item
            shared = client.scatter(shared, broadcast=True, hash=False)
        futures = {
            client.submit(
                execute,
                fn,
                item,
                store,
                threads,
                runtime.item_timeout_s,
                shared=shared,
                key=f"{item.key}-{id(items)}",
                pure=False,
            ): item
            for item in items
        }
        try:
            for future in as_completed(futures):
                item = futures[future]
                try:
                    yield future.result()
                except Exception as err:  # the worker died (timeout watchdog, OOM, lost)
                    note = store.read_failure(item.key)
                    yield Outcome(
                        item.key, FAILED, error=note or f"WorkerDied: {type(err).__name__}: {err}"
                    )
        finally:
            client.cancel(list(futures))


EXECUTE = {"sequential": _sequential, "processes": _processes, "dask": _dask}


# ---------------------------------------------------------------------------------- driver
def run_items(
    fn: ItemFn,
    items: Iterable[Item],
    store: PartitionStore,
    runtime: RuntimeConfig | dict[str, Any],
    *,
    stage: str,
    shared: Any = None,
) -> list[Outcome]:
    """Run the items not yet done in ``store``; return one Outcome per item, in input order.

    ``shared`` is one large object every item needs (a model's weights): it is sent to each
    worker once and passed to ``fn`` as ``shared=``.

    Raises RunStopped on a bug in our code (with its traceback), when the first
    ``SAME_ERROR_STOP`` results all failed with the same error, or when every item failed.
    """
    runtime = runtime if isinstance(runtime, RuntimeConfig) else RuntimeConfig(**runtime)
    items = list(items)
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{stage}: duplicate item keys; every item needs its own key.")
    removed = store.clean_temp()
    if removed:
        logger.info(
            "%s: removed %d leftover temporary files of an interrupted run", stage, len(removed)
        )
    store.clear_failures(keys)
    done = store.records(keys)
    outcomes = {k: Outcome(k, CACHED, record) for k, record in done.items()}
    todo = [item for item in items if item.key not in done]
    counts = {DONE: 0, CACHED: len(done), FAILED: 0}
    executor = "sequential" if len(todo) <= 1 else runtime.executor
    logger.info(
        "%s: %d items, %d already done, %d to run (%s, %d workers)",
        stage, len(items), len(done), len(todo), executor, runtime.n_workers() if executor != "sequential" else 1,
    )  # fmt: skip
    bar = tqdm(
        total=len(items),
        initial=len(done),
        desc=stage,
        unit="item",
        disable=not runtime.progress or not todo,
    )
    shapes: list[str] = []
    try:
        for outcome in EXECUTE[executor](fn, todo, store, runtime, shared):
            outcomes[outcome.key] = outcome
            counts[outcome.status] += 1
            bar.update(1)
            bar.set_postfix(
                done=counts[DONE], cached=counts[CACHED], failed=counts[FAILED], refresh=False
            )
            if outcome.status == FAILED:
                _check_failure(stage, outcome, counts, shapes)
    finally:
        bar.close()
    result = [outcomes[k] for k in keys]
    if items and all(o.status == FAILED for o in result):
        raise RunStopped(
            f"{stage}: every one of the {len(items)} items failed; first reasons:\n{_reasons(result)}"
        )
    if counts[FAILED]:
        logger.warning(
            "%s: %d of %d items failed; they are listed in the stage's report and retried on the next run",
            stage,
            counts[FAILED],
            len(items),
        )
    return result


def _check_failure(stage: str, outcome: Outcome, counts: dict[str, int], shapes: list[str]) -> None:
    if outcome.bug:
        raise RunStopped(
            f"{stage}: a bug in ActionLab's code (not a problem of the input) while processing "
            f"{outcome.key}:\n{outcome.traceback}"
        )
    logger.warning("%s: %s failed: %s", stage, outcome.key, outcome.error)
    if counts[DONE] == 0 and counts[CACHED] == 0:
        shapes.append(error_shape(outcome.error))
        if len(shapes) >= SAME_ERROR_STOP and len(set(shapes)) == 1:
            raise RunStopped(
                f"{stage}: the first {len(shapes)} items all failed with the same error, which points "
                f"to a problem of the set-up rather than of the videos; stopping. Error:\n{outcome.error}\n{outcome.traceback}"
            )


def _reasons(outcomes: Sequence[Outcome], limit: int = 10) -> str:
    return "\n".join(f"  {o.key}: {o.error}" for o in outcomes[:limit])
