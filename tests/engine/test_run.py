"""The engine runs items under every executor, isolates failures and never redoes finished work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from actionlab.engine import CACHED, DONE, FAILED, Item, PartitionStore, RunStopped, run_items

from . import items as fns

EXECUTORS = [
    {"executor": "sequential"},
    {"executor": "processes", "workers": 2},
    pytest.param({"executor": "dask", "workers": 2, "dask_address": "local"}, marks=pytest.mark.slow),
]


def runtime(**kw):
    return {"executor": "sequential", "progress": False, **kw}


@pytest.mark.parametrize("rt", EXECUTORS, ids=lambda r: r["executor"])
def test_every_executor_computes_each_item_once_and_then_caches(tmp_path: Path, rt):
    store = PartitionStore(tmp_path / "store", suffix=".npy")
    items = [Item(f"k{x}", {"x": x}) for x in range(6)]
    first = run_items(fns.square, items, store, runtime(**rt), stage="square")
    assert [o.status for o in first] == [DONE] * 6
    assert [o.record["y"] for o in first] == [x * x for x in range(6)]
    for x in range(6):
        with store.open(f"k{x}") as handle:
            assert np.load(handle).tolist() == [x * x] * 3
    if rt["executor"] != "sequential":
        assert len({o.record["pid"] for o in first}) >= 1
        assert all(o.record["threads"] >= 1 for o in first)
    again = run_items(fns.square, items, store, runtime(**rt), stage="square")
    assert [o.status for o in again] == [CACHED] * 6
    assert [o.record["y"] for o in again] == [x * x for x in range(6)]


@pytest.mark.parametrize("rt", EXECUTORS[:2], ids=lambda r: r["executor"])
def test_a_failed_item_is_recorded_not_cached_and_retried(tmp_path: Path, rt):
    store = PartitionStore(tmp_path / "store", suffix=".npy")
    flag = tmp_path / "fixed"
    items = [Item(f"k{x}", {"x": x, "fail_unless": str(flag) if x == 2 else None}) for x in range(4)]
    first = run_items(fns.square, items, store, runtime(**rt), stage="square")
    assert [o.status for o in first] == [DONE, DONE, FAILED, DONE]
    assert "ValueError: input 2 is bad" in first[2].error
    assert store.done_keys() == {"k0", "k1", "k3"}
    flag.touch()
    second = run_items(fns.square, items, store, runtime(**rt), stage="square")
    assert [o.status for o in second] == [CACHED, CACHED, DONE, CACHED]


@pytest.mark.parametrize("rt", EXECUTORS[:2], ids=lambda r: r["executor"])
def test_a_slow_item_times_out_and_the_rest_finish(tmp_path: Path, rt):
    store = PartitionStore(tmp_path / "store", suffix=".npy")
    items = [Item("slow", {"x": 1, "sleep": 30}), Item("fast", {"x": 2})]
    out = run_items(fns.square, items, store, runtime(**rt, item_timeout_s=1), stage="square")
    assert out[0].status == FAILED and "ItemTimeout" in out[0].error
    assert out[1].status == DONE
    assert store.done_keys() == {"fast"}


def test_a_killed_worker_fails_only_its_item(tmp_path: Path):
    store = PartitionStore(tmp_path / "store", suffix=".npy")
    items = [Item(f"k{x}", {"x": x}) for x in range(4)]
    out = run_items(fns.die, items, store, runtime(executor="processes", workers=2), stage="die")
    assert out[0].status == FAILED and "WorkerDied" in out[0].error and "-9" in out[0].error
    assert [o.status for o in out[1:]] == [DONE] * 3


def test_a_bug_in_our_code_stops_the_run_with_its_traceback(tmp_path: Path):
    store = PartitionStore(tmp_path / "store")
    items = [Item(f"k{x}", {"x": x}) for x in range(3)]
    with pytest.raises(RunStopped, match=r"bug in ActionLab's code(.|\n)*content_hash"):
        run_items(fns.our_bug, items, store, runtime(), stage="bug")


def test_the_same_error_on_every_item_stops_early(tmp_path: Path):
    store = PartitionStore(tmp_path / "store")
    items = [Item(f"k{x}", {"x": x}) for x in range(40)]
    with pytest.raises(RunStopped, match="first 20 items all failed with the same error"):
        run_items(fns.same_failure, items, store, runtime(), stage="same")


def test_leftover_temporary_files_are_cleaned_and_never_listed(tmp_path: Path):
    store = PartitionStore(tmp_path / "store", suffix=".npy")
    (tmp_path / "store").mkdir()
    leftover = tmp_path / "store" / ".k0.npy.0123456789ab.tmp"
    leftover.write_bytes(b"half")
    assert store.done_keys() == set()
    run_items(fns.square, [Item("k0", {"x": 3})], store, runtime(), stage="square")
    assert not leftover.exists()
    assert store.done_keys() == {"k0"}
    assert store.stale(["k1"]) == ["k0"]


@pytest.mark.parametrize("rt", EXECUTORS, ids=lambda r: r["executor"])
def test_a_shared_object_reaches_every_item(tmp_path: Path, rt):
    store = PartitionStore(tmp_path / "store")
    shared = {"factor": 3, "blob": np.zeros(1_000_000, np.uint8)}
    out = run_items(fns.scale, [Item(f"k{x}", {"x": x}) for x in range(4)], store, runtime(**rt), stage="s", shared=shared)
    assert [o.record for o in out] == [{"y": 3 * x, "size": 1_000_000} for x in range(4)]


def test_stale_items_are_listed_and_removed_only_on_request(tmp_path: Path):
    from actionlab.engine import Batch

    store = PartitionStore(tmp_path / "store", suffix=".npy")
    Batch("s", fns.square, [Item(f"k{x}", {"x": x}) for x in range(3)], runtime()).run(store)
    Batch("s", fns.square, [Item("k0", {"x": 0})], runtime()).run(store)
    assert store.done_keys() == {"k0", "k1", "k2"}  # dry run: only listed
    Batch("s", fns.square, [Item("k0", {"x": 0})], runtime(remove_stale=True)).run(store)
    assert store.done_keys() == {"k0"}
    assert sorted(p.name for p in (tmp_path / "store").glob("*.npy")) == ["k0.npy"]


def test_grouped_items_run_together_and_a_failed_group_runs_one_by_one(tmp_path: Path):
    from actionlab.engine import Grouped

    fns.CALLS.clear()
    store = PartitionStore(tmp_path / "store", suffix=".npy")
    flag = tmp_path / "never"
    items = [Item(f"k{x}", {"x": x, "fail_unless": str(flag) if x == 4 else None}) for x in range(7)]
    fn = Grouped(fns.square, fns.square_many, size=3)
    out = run_items(fn, items, store, runtime(), stage="grouped")
    assert fns.CALLS == [3, 3, 1]  # groups [0-2] [3-5] [6]; [3-5] failed and ran singly
    assert [o.status for o in out] == [DONE] * 4 + [FAILED] + [DONE] * 2
    assert [o.record.get("y") for o in out if o.status == DONE] == [0, 1, 4, 9, 25, 36]
    for x in (0, 1, 2, 6):
        with store.open(f"k{x}") as handle:
            assert np.load(handle).tolist() == [x * x] * 3
    assert "k4" not in store.done_keys()


def test_a_store_on_another_file_system_gets_whole_partitions_and_records():
    """Any fsspec URL serves as a store (here fsspec's in-memory file system, as an object store)."""
    import uuid

    store = PartitionStore(f"memory://actionlab-{uuid.uuid4().hex}/store", suffix=".npy")
    items = [Item(f"k{x}", {"x": x}) for x in range(3)]
    assert [o.status for o in run_items(fns.square, items, store, runtime(), stage="s")] == [DONE] * 3
    assert store.local_path("k0") is None and store.done_keys() == {"k0", "k1", "k2"}
    with store.open("k2") as handle:
        assert np.load(handle).tolist() == [4, 4, 4]
    assert [o.status for o in run_items(fns.square, items, store, runtime(), stage="s")] == [CACHED] * 3


@pytest.mark.slow
def test_dask_stops_a_hung_item_and_records_the_timeout(tmp_path: Path):
    store = PartitionStore(tmp_path / "store", suffix=".npy")
    items = [Item("slow", {"x": 1, "sleep": 60}), Item("fast", {"x": 2})]
    rt = runtime(executor="dask", dask_address="local", workers=2, item_timeout_s=2)
    out = run_items(fns.square, items, store, rt, stage="square")
    assert out[0].status == FAILED and "ItemTimeout" in out[0].error
    assert out[1].status == DONE
