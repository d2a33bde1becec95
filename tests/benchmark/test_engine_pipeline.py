"""Producer side of the engine: prefetching, batching, batched fusion, the background writer, and the
whole chain (load -> fuse -> executor -> writer) against the per-pair path."""
from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

import models
from benchmark.datasets import Pair
from benchmark.engine import LocalExecutor, SerialExecutor
from benchmark.engine.batching import FusedPair, fuse_batch, fuse_stream
from benchmark.engine.loader import background, group_batches, prefetch_map
from benchmark.engine.writer import BackgroundWriter, after
from benchmark.evaluation import evaluate_pair
from benchmark.io import read_image, write_png
from ivif_toolbox import atomic_write_json
from benchmark.colour import luma, recombine, unit_to_uint8
from models.base import Fuser

SIZES = [(40, 52), (40, 52), (33, 45), (40, 52), (40, 52), (40, 52), (40, 52), (33, 45), (33, 45)]


def make_pair(i: int, hw: tuple[int, int]) -> Pair:
    rng = np.random.default_rng(i)
    ir = rng.integers(0, 256, hw, dtype=np.uint8)
    vis = rng.integers(0, 256, (*hw, 3) if i % 3 else hw, dtype=np.uint8)   # colour and grey visible images
    return Pair("test", f"p{i}", generator=lambda: (ir, vis))


PAIRS = [make_pair(i, hw) for i, hw in enumerate(SIZES)]


@pytest.fixture(scope="module")
def tiny_torch():
    from tiny_torch_fuser import TinyConvFuser

    return TinyConvFuser()


# ------------------------------------------------------------------------------------ grouping
def test_group_batches_groups_consecutive_equal_keys_up_to_the_batch_size():
    keys = ["A", "A", "B", "A", "A", "A", "A", None, "A"]
    groups = list(group_batches(list(enumerate(keys)), batch_size=3, key=lambda t: t[1]))
    assert [[i for i, _ in g] for g in groups] == [[0, 1], [2], [3, 4, 5], [6], [7], [8]]
    assert [len(g) for g in group_batches(range(7), batch_size=1, key=lambda _: 0)] == [1] * 7
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        list(group_batches([], batch_size=0, key=str))


# ------------------------------------------------------------------------------------ prefetching
@pytest.mark.parametrize("depth,threads", [(1, 1), (3, 1), (4, 2)])
def test_prefetch_map_keeps_order_and_stays_within_depth(depth, threads):
    lock = threading.Lock()
    started = consumed = peak = 0

    def load(i):
        nonlocal started, peak
        with lock:
            started += 1
            peak = max(peak, started - consumed)
        time.sleep(0.002)
        return i * 10

    out = []
    for got in prefetch_map(load, range(12), depth=depth, threads=threads):
        with lock:
            consumed += 1
        time.sleep(0.01)   # a slow consumer: the loader runs ahead as far as allowed
        out.append((got.item, got.value, got.ok))
    assert out == [(i, i * 10, True) for i in range(12)]
    assert peak == depth


def test_prefetch_map_reports_an_item_error_and_goes_on():
    def load(i):
        if i == 2:
            raise ValueError("ir/2.png: cannot decode image")
        if i == 4:
            raise KeyError("a bug")
        return i

    it = prefetch_map(load, range(6), depth=2, catch=(ValueError,))
    got = [next(it) for _ in range(4)]
    assert [g.item for g in got] == [0, 1, 2, 3]
    assert got[2].error == "ValueError: ir/2.png: cannot decode image" and got[2].value is None
    with pytest.raises(KeyError, match="a bug"):    # not in `catch`: propagates
        next(it)


def test_background_runs_ahead_bounded_and_reraises_in_place():
    produced = []

    def gen():
        for i in range(10):
            produced.append(i)
            yield i

    seen = []
    for x in background(gen(), depth=2):
        time.sleep(0.005)
        assert len(produced) - len(seen) <= 2 + 2   # queue (2) + the one being put + the one held here
        seen.append(x)
    assert seen == list(range(10))

    def broken():
        yield 1
        raise RuntimeError("fuser crashed")

    it = background(broken(), depth=2)
    assert next(it) == 1
    with pytest.raises(RuntimeError, match="fuser crashed"):
        next(it)


def test_background_stops_its_thread_when_the_consumer_stops():
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    it = background(endless(), depth=2)
    assert [next(it) for _ in range(3)] == [0, 1, 2]
    it.close()
    assert closed.wait(5)


# ------------------------------------------------------------------------------------ batched fusion
def fuse_pair(fuser, loaded):
    """The per-pair reference, written out: fuse IR with the visible luma, recombine, round to 8 bits."""
    return unit_to_uint8(recombine(fuser.run(loaded.ir, luma(loaded.vis)), loaded.vis)), None


def per_pair(fuser, pairs):
    return [fuse_pair(fuser, p.load()) for p in pairs]


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("fuser_name", ["mean", "tiny-torch"])
def test_batched_fusion_gives_the_per_pair_images(fuser_name, batch_size, tiny_torch, one_torch_thread):
    fuser = tiny_torch if fuser_name == "tiny-torch" else models.create_fuser("mean")
    want = per_pair(fuser, PAIRS)
    stream = fuse_stream(fuser, ((p.name, p.load()) for p in PAIRS), batch_size=batch_size)
    got = list(stream)
    assert [tag for tag, _, _ in got] == [p.name for p in PAIRS]
    sizes = [f.batch_size for _, _, f in got]
    assert sizes == ([1] * 9 if batch_size == 1 else [2, 2, 1, 3, 3, 3, 1, 2, 2])
    for (tag, _, fused), (img, _) in zip(got, want):
        assert fused.ok and fused.latency_s > 0 and fused.image.dtype == np.uint8
        assert fused.image.shape == img.shape
        if batch_size == 1 or fuser_name == "mean":
            assert np.array_equal(fused.image, img), tag   # the same computation
        else:
            # PyTorch does not promise batch-size-invariant kernels (oneDNN / cuDNN choose by shape):
            # float outputs may differ in the last bits, so an 8-bit value at a rounding boundary by one
            assert np.abs(fused.image.astype(int) - img).max() <= 1, tag
    lat = [f.latency_s for _, _, f in got[3:6]]
    assert batch_size == 1 or lat[0] == lat[1] == lat[2]   # one batch: its latency shared evenly


class _RefusesBrightPairs(Fuser):
    name = "refuses-bright"

    def fuse(self, ir, vis_y):
        out = (ir + vis_y) / 2
        return out * 3 if ir.mean() > 0.6 else out   # out of [0, 1]: an invalid output for that pair


def test_a_failing_batch_is_fused_pair_by_pair():
    pairs = [make_pair(i, (20, 20)) for i in range(3)]
    loaded = [p.load() for p in pairs]
    bright = Pair("test", "bright", generator=lambda: (np.full((20, 20), 250, np.uint8), np.full((20, 20), 200,
                                                                                               np.uint8))).load()
    out = fuse_batch(_RefusesBrightPairs(), [loaded[0], bright, loaded[1]])
    assert [o.ok for o in out] == [True, False, True]
    assert out[1].error.startswith("FuserOutputError:") and "outside [0, 1]" in out[1].error
    assert all(o.note and o.note.startswith("batch of 3 failed (FuserOutputError") for o in out)
    assert all(o.batch_size == 1 for o in out)
    good = per_pair(_RefusesBrightPairs(), [pairs[0]])[0][0]
    assert np.array_equal(out[0].image, good)
    with pytest.raises(ValueError, match="same size"):
        fuse_batch(_RefusesBrightPairs(), [loaded[0], make_pair(9, (10, 10)).load()])


def test_fuse_stream_passes_failed_loads_through_in_order():
    fuser = models.create_fuser("mean")
    items = [("a", PAIRS[0].load()), ("b", None), ("c", PAIRS[1].load())]
    got = list(fuse_stream(fuser, items, batch_size=3))
    assert [(t, f is None) for t, _, f in got] == [("a", False), ("b", True), ("c", False)]
    assert isinstance(got[0][2], FusedPair) and got[0][2].batch_size == 1


def test_fusers_synchronize_on_the_cpu_is_a_no_op(tiny_torch):
    models.create_fuser("mean").synchronize()
    tiny_torch.synchronize()


# ------------------------------------------------------------------------------------ writer
def test_background_writer_keeps_order_bounds_its_queue_and_reports_errors(tmp_path):
    order = []
    peak = 0
    w = BackgroundWriter(max_queued=2)

    def slow_write(i):
        nonlocal peak
        peak = max(peak, w._q.qsize())
        time.sleep(0.01)
        order.append(i)
        return i

    jobs = [w.submit(slow_write, i) for i in range(8)]
    w.close()
    assert order == list(range(8)) and peak <= 2 and w.written == 8
    assert [j.result() for j in jobs] == list(range(8))

    (tmp_path / "file.json").write_text("x")
    w = BackgroundWriter(max_queued=4)
    ok = w.submit(atomic_write_json, tmp_path / "ok.json", {"a": 1})
    bad = w.submit(atomic_write_json, tmp_path / "file.json" / "below-a-file.json", {"a": 2})  # parent is a file
    with pytest.raises(OSError):
        bad.result(timeout=10)
    with pytest.raises(OSError):                                     # the first error stops the writer
        w.submit(atomic_write_json, tmp_path / "never.json", {"a": 3})
    with pytest.raises(OSError):
        w.close()
    assert ok.result() == tmp_path / "ok.json" and (tmp_path / "ok.json").exists() and not (tmp_path / "never.json").exists()


def test_jobs_queued_after_a_failure_are_cancelled_not_run(tmp_path):
    w = BackgroundWriter(max_queued=8)
    gate = threading.Event()
    first = w.submit(lambda: (gate.wait(5), 1 / 0))
    later = w.submit(atomic_write_json, tmp_path / "later.json", {})
    gate.set()
    with pytest.raises(ZeroDivisionError):
        w.close()
    assert first.exception() is not None and later.cancelled() and not (tmp_path / "later.json").exists()


@pytest.mark.parametrize("threads", [1, 3])
def test_a_record_queued_after_its_png_is_written_after_it(tmp_path, threads):
    w = BackgroundWriter(max_queued=16, threads=threads)
    written = []
    lock = threading.Lock()

    def write(kind, i, delay):
        time.sleep(delay)
        with lock:
            written.append((kind, i))

    pngs = {i: w.submit(write, "png", i, 0.03 if i % 2 else 0.0) for i in range(6)}
    for i in reversed(range(6)):
        w.submit(after, pngs[i], write, "record", i, 0.0)
    w.close()
    assert sorted(written) == sorted([("png", i) for i in range(6)] + [("record", i) for i in range(6)])
    for i in range(6):
        assert written.index(("png", i)) < written.index(("record", i))


# ------------------------------------------------------------------------------------ the chain
@pytest.mark.parametrize("executor", ["serial", "local"])
def test_pipeline_gives_the_per_pair_results(executor, tmp_path):
    fuser = models.create_fuser("mean")
    keys = ["EN", "SD", "MI", "Qabf"]
    want = {}
    for p in PAIRS:
        img, _ = fuse_pair(fuser, p.load())
        ir_raw, vis_raw = p.raw()
        want[p.name] = evaluate_pair(img, ir_raw, vis_raw, keys, "tang2023")

    writer = BackgroundWriter(max_queued=4)

    def produce():
        loaded = prefetch_map(lambda p: p.load(), PAIRS, depth=4)
        for tag, pair, fused in fuse_stream(fuser, ((x.item.name, x.value) for x in loaded), batch_size=3):
            writer.submit(write_png, tmp_path / f"{tag}.png", fused.image)
            yield tag, (fused.image, pair.ir_raw, pair.vis_raw, keys, "tang2023")

    ex = SerialExecutor() if executor == "serial" else LocalExecutor(2)
    with ex:
        for res in ex.map_unordered(evaluate_pair, background(produce(), depth=2)):
            assert res.ok, res.error
            writer.submit(atomic_write_json, tmp_path / f"{res.key}.json", res.value)
    writer.close()
    for p in PAIRS:
        assert evaluate_pair(read_image(tmp_path / f"{p.name}.png"), *p.raw(), keys, "tang2023") == want[p.name]
        assert json.loads((tmp_path / f"{p.name}.json").read_text()) == want[p.name]
