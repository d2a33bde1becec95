"""Efficiency measurement (benchmark.profiling) and the papers' reported figures (benchmark.reported)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import models
from benchmark import profiling as prof
from benchmark.reported import REPORTED, render_reported_block, reported_figures
from models.base import TorchFuser
from tiny_torch_fuser import TinyConvFuser, analytic_flops, analytic_params

HERE = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


# ------------------------------------------------------------------------------ profile_fuser
def test_profile_tiny_torch_fuser_on_cpu_fills_every_field():
    fuser = TinyConvFuser(freeze_first=True, report={"first convolution (frozen)": 76})
    rec = prof.profile_fuser(fuser, size=(30, 20), device="cpu", runs=3, warmup=1)

    cuda_only = {"peak_mem_reserved_bytes"}  # max_memory_reserved has no CPU counterpart
    for f in dataclasses.fields(rec):
        if f.name not in cuda_only:
            assert getattr(rec, f.name) is not None, f.name
    assert rec.peak_mem_reserved_bytes is None

    assert rec.params == analytic_params() == 113
    assert rec.params_frozen == 2 * 4 * 9 + 4
    assert "frozen" in rec.params_note and "first convolution (frozen): 76" in rec.params_note
    assert rec.params_breakdown == {"first convolution (frozen)": 76}
    # 30×20 is reflect-padded to 32×24 by the contract (pad_multiple=8); the forward sees 32×24
    assert rec.flops == analytic_flops(32, 24)
    assert rec.flops_resolution == "30×20" and "32×24" in rec.flops_note
    assert "WARNING" not in rec.flops_note
    assert len(rec.latencies_s) == rec.runs == 3 and rec.warmup == 1
    assert all(t > 0 for t in rec.latencies_s)
    assert min(rec.latencies_s) <= rec.latency_mean_s <= max(rec.latencies_s)
    assert rec.latency_median_s == sorted(rec.latencies_s)[1] and rec.latency_std_s >= 0
    assert rec.peak_mem_bytes > 0 and rec.peak_mem_kind.startswith("CPU peak RSS")
    assert rec.mem_baseline_bytes > 0
    assert rec.device == "cpu" and rec.precision == "fp32" and rec.batch_size == 1
    assert rec.resolution == "30×20" and rec.framework == "PyTorch" and rec.fuser == "tiny-conv"
    assert "I/O" in rec.what_is_timed and "colour conversion excluded" in rec.what_is_timed
    for key in ("device_name", "cpu", "torch", "cuda", "driver", "python", "torch_threads"):
        assert rec.hardware[key]
    assert rec.hardware["torch"] == torch.__version__
    assert rec.process == "in-process" and rec.notes == []
    # JSON round trip
    again = prof.EfficiencyRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert again == rec


def test_flop_count_equals_analytic_conv_count():
    fuser = TinyConvFuser()
    fc = prof.count_flops(fuser, (40, 32))  # multiples of 8: no padding
    assert fc.total == analytic_flops(40, 32) == 2 * (2 * 4 + 4 * 1) * 9 * 40 * 32
    assert fc.by_op == {"aten.convolution": fc.total}
    assert fc.uncounted_ops == () and fc.padded_size == (40, 32)


class _AttentionFuser(TorchFuser):
    """Per-pixel tokens → Linear(2→16) → self-attention (2 heads) → Linear(16→1) → sigmoid."""

    name = "tiny-attention"
    E = 16

    def __init__(self):
        torch.manual_seed(0)
        module = nn.ModuleDict({"embed": nn.Linear(2, self.E),
                                "attn": nn.MultiheadAttention(self.E, 2, batch_first=True),
                                "head": nn.Linear(self.E, 1)})
        super().__init__(module)

    def forward(self, ir, vis_y):
        b, _, h, w = ir.shape
        tokens = self.module["embed"](torch.cat([ir, vis_y], 1).flatten(2).transpose(1, 2))
        out, _ = self.module["attn"](tokens, tokens, tokens, need_weights=False)
        return torch.sigmoid(self.module["head"](out)).transpose(1, 2).reshape(b, 1, h, w)


def test_flop_count_sees_fused_attention_in_eval_mode():
    """The MHA fast path and the CPU flash-attention kernel would hide the attention FLOPs."""
    fuser = _AttentionFuser()
    w, h = 8, 6
    length, e = w * h, _AttentionFuser.E
    expected = (2 * length * 2 * e            # embedding
                + 2 * length * e * 3 * e      # q, k, v projections
                + 2 * 2 * length * length * e  # Q·Kᵀ and A·V
                + 2 * length * e * e          # output projection
                + 2 * length * e * 1)         # head
    fast_path = torch.backends.mha.get_fastpath_enabled()
    fc = prof.count_flops(fuser, (w, h))
    assert fc.total == expected
    assert torch.backends.mha.get_fastpath_enabled() == fast_path  # restored
    assert not fuser.module.training  # counted in eval mode: no dropout in the numbers


def test_profile_classical_fuser():
    rec = prof.profile_fuser(models.create_fuser("mean"), size=(64, 48), runs=2, warmup=1)
    assert rec.flops is None and rec.flops_resolution is None
    assert rec.flops_note.startswith("not counted") and "PyTorch" in rec.flops_note
    assert rec.params == 0 and rec.params_frozen == 0 and rec.framework == "NumPy"
    assert rec.latency_mean_s > 0 and rec.peak_mem_bytes > 0 and rec.runs == 2


def test_cpu_only_fuser_with_a_cuda_request():
    fuser = models.create_fuser("mean")
    with pytest.raises(ValueError, match="runs on the CPU only"):
        prof.profile_fuser(fuser, size=(16, 16), device="cuda", runs=2, warmup=0)
    rec = prof.profile_fuser(fuser, size=(16, 16), device="cuda", runs=2, warmup=0, classical_on_cpu=True)
    assert rec.device == "cpu" and "CPU-only" in rec.notes[0]


@pytest.mark.parametrize("kwargs, match", [
    ({"runs": 1}, "runs must be"), ({"warmup": -1}, "warmup must be"), ({"size": "640*480"}, "WxH"),
    ({"size": (0, 10)}, "positive"), ({"device": "gpu"}, "device must be"),
])
def test_profile_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        prof.profile_fuser(TinyConvFuser(), **{"size": (16, 16), "runs": 2, **kwargs})


def test_profile_rejects_non_fusers():
    with pytest.raises(TypeError, match="expected a models.base.Fuser"):
        prof.profile_fuser(nn.Conv2d(2, 1, 3), size=(16, 16), runs=2)
    with pytest.raises(TypeError, match="TorchFuser"):
        prof.count_flops(models.create_fuser("max"), (16, 16))


def test_parse_size_and_synthetic_pair():
    assert prof.parse_size("640x480") == prof.parse_size("640×480") == prof.parse_size((640, 480)) == (640, 480)
    with pytest.raises(TypeError):
        prof.parse_size((640.0, 480))
    ir, vis = prof.smooth_input_pair((40, 30), seed=3)
    assert ir.shape == vis.shape == (30, 40) and ir.dtype == np.float32
    assert 0.1 <= ir.min() and ir.max() <= 0.9 and not np.array_equal(ir, vis)
    assert np.array_equal(prof.smooth_input_pair((40, 30), seed=3)[0], ir)
    assert not np.array_equal(prof.smooth_input_pair((40, 30), seed=4)[0], ir)


# ------------------------------------------------------------------------------ fresh process
def test_profile_in_subprocess_mean_has_peak_rss():
    rec = prof.profile_in_subprocess("mean", {}, size=(64, 48), runs=2, warmup=1, timeout=300)
    assert rec.peak_mem_kind == prof.MEM_KIND_FRESH and rec.process == "fresh subprocess"
    assert rec.peak_mem_bytes > 0 and 0 < rec.mem_baseline_bytes <= rec.peak_mem_bytes
    assert rec.fuser == "mean" and rec.flops is None and rec.latency_mean_s > 0


def test_profile_in_subprocess_torch_fuser():
    rec = prof.profile_in_subprocess("test-tiny-conv", {}, size=(32, 24), runs=2, warmup=1, num_threads=1,
                                     imports=["tiny_torch_fuser_registered"], extra_sys_path=[HERE], timeout=300)
    assert rec.flops == analytic_flops(32, 24) and rec.params == analytic_params()
    assert rec.params_frozen == 76 and rec.hardware["torch_threads"] == "1"
    assert rec.peak_mem_bytes >= rec.mem_baseline_bytes > 0  # a 113-parameter net adds ~nothing to the imports


def test_profile_in_subprocess_reports_child_errors():
    with pytest.raises(prof.ProfilingError, match="did you mean 'mean'"):
        prof.profile_in_subprocess("meen", {}, size=(16, 16), runs=2, timeout=300)
    with pytest.raises(TypeError, match="JSON"):
        prof.profile_in_subprocess("mean", {"weight": object()}, size=(16, 16), runs=2)


# ------------------------------------------------------------------------------ table
def _header(table_md: str) -> list[str]:
    line = next(l for l in table_md.splitlines() if l.startswith("| Method"))
    return [c.strip() for c in line.strip("|").split("|")]


@pytest.fixture(scope="module")
def cpu_records():
    torch.set_num_threads(1)
    tiny = prof.profile_fuser(TinyConvFuser(freeze_first=True), size=(32, 24), runs=2, warmup=1)
    mean = prof.profile_fuser(models.create_fuser("mean"), size=(32, 24), runs=2, warmup=1)
    return [tiny, mean]


def test_efficiency_table_cpu_layout_and_caption(cpu_records):
    md = prof.render_efficiency_table(cpu_records)
    assert _header(md) == ["Method", "Framework", "Params (M)", "FLOPs (G)", "Time (s, CPU)", "Peak RSS (GB, CPU)"]
    assert "CPU figures" in md
    for text in ("batch size 1", "input 32×24 (W×H)", "precision fp32", "2 timed runs after 1 warm-up run",
                 "image I/O and colour conversion excluded", "FlopCounterMode", "GB = 2^30 bytes",
                 "Intel" if "Intel" in cpu_records[0].hardware["cpu"] else "CPU "):
        assert text in md, text
    rows = [l for l in md.splitlines() if l.startswith("| tiny-conv") or l.startswith("| mean")]
    assert len(rows) == 2
    tiny = [c.strip() for c in rows[0].strip("|").split("|")]
    assert tiny[2] == "0.000113 (0.000076 frozen)" and tiny[3] == f"{analytic_flops(32, 24) / 1e9:.6f}"
    assert " ± " in tiny[4]
    mean = [c.strip() for c in rows[1].strip("|").split("|")]
    assert mean[2] == "0" and mean[3] == "–"
    assert "mean FLOPs: not counted" in md
    bare = prof.render_efficiency_table(cpu_records, caption=False, tablefmt="pipe")
    assert bare.startswith("| Method") and "CPU figures" not in bare


def test_efficiency_table_gpu_and_mixed_rows(cpu_records):
    gpu_hw = dict(cpu_records[0].hardware, device_name="NVIDIA A100-SXM4-80GB", cuda="12.1", driver="535.104",
                  gpu_memory="79.3 GB")
    gpu = dataclasses.replace(cpu_records[0], device="cuda:0", hardware=gpu_hw, peak_mem_kind=prof.MEM_KIND_CUDA,
                              peak_mem_bytes=int(9.94 * 2**30), peak_mem_reserved_bytes=int(10.5 * 2**30),
                              latency_mean_s=1.4661, latency_std_s=0.0123)
    md = prof.render_efficiency_table([gpu])
    assert _header(md) == ["Method", "Framework", "Params (M)", "FLOPs (G)", "Time (s)", "Peak Mem (GB)"]
    assert "CPU figures" not in md and "NVIDIA A100-SXM4-80GB" in md and "driver 535.104" in md
    assert "1.466 ± 0.012" in md and "| 9.94 " in md and "synchronize" in md
    mixed = prof.render_efficiency_table([gpu, cpu_records[1]])
    head = _header(mixed)
    assert head[:3] == ["Method", "Framework", "Device"] and "Hardware" in head
    assert "(GPU alloc)" in mixed and "(CPU RSS, this process)" in mixed


def test_efficiency_table_rejects_bad_input(cpu_records):
    with pytest.raises(ValueError, match="at least one"):
        prof.render_efficiency_table([])
    with pytest.raises(TypeError):
        prof.render_efficiency_table([cpu_records[0].to_dict()])
    with pytest.raises(ValueError, match="tablefmt"):
        prof.render_efficiency_table(cpu_records, tablefmt="latex")


def test_efficiency_json_round_trip(tmp_path, cpu_records):
    path = prof.write_efficiency_json(cpu_records, tmp_path / "efficiency.json")
    assert prof.read_efficiency_json(path) == cpu_records
    assert not list(tmp_path.glob("*.tmp"))


# ------------------------------------------------------------------------------ reported figures
def test_reported_block_has_the_papers_numbers_only():
    md = render_reported_block()
    assert "reported by the authors" in md.lower() and "not measured" in md
    for number in ("386.358", "1.466", "9.94", "7.14", "| 1.3 ", "20.1", "A100"):
        assert number in md, number
    assert "DMNet (paper)" in md and "RED (paper)" in md
    assert "Time (s, CPU)" not in md  # never the measured table's CPU layout
    dmnet = {r.method: r for r in reported_figures("dmnet")}
    assert dmnet["DMNet"].params_m == 386.358 and dmnet["DMNet"].time_s == 1.466
    assert dmnet["DMNet"].memory_gb == 9.94 and len(dmnet) == 14
    red_default = next(r for r in reported_figures("red")
                       if r.method == "RED" and r.setting.startswith("T=2 (default)"))
    assert red_default.memory_gb == 7.14 and red_default.time_s == 1.3
    assert red_default.memory_kind == "training memory"
    assert all(r.source for r in REPORTED)
    with pytest.raises(ValueError):
        render_reported_block(["dmnet", "cddfuse"])
    with pytest.raises(ValueError):
        reported_figures("danet")
