"""IVIF_ZOO's PyTorch metrics run in PyTorch: MS-SSIM (pytorch-msssim), VIF (``Metric_torch.py``).

IVIF_ZOO (RollingPlain/IVIF_ZOO@61b0a44) computes MS-SSIM with its copy of pytorch-msssim
(``Metric/ssim.py``) and VIF with ``Metric/Metric_torch.py``, in float32 torch operations. Both
values depend on float32 rounding noise: with IVIF_ZOO's data-range quirk the MS-SSIM contrast
term of a flat region is a ratio of two cancellation residues, and VIF's clamps (variance
< 1e-10, gain < 0) compare such residues. The reference value is therefore whatever the torch
kernels of the machine that runs it produce, and it differs between CPUs (oneDNN ISA, ATen CPU
capability, GEMM library) and GPUs by up to a few 1e-3 (``docs/metrics.md``, "IVIF_ZOO's
MS-SSIM and VIF depend on the machine").

This module runs the reference's torch operations call for call: the same float32 tensors of the
same shapes (batch 1, one channel), the same windows built with the same torch calls, the same
``conv2d`` / ``avg_pool2d`` / elementwise / reduction calls in the same order, so that torch picks
the kernels the reference would pick on this machine. Deviations, all bit-neutral: work the two
calls of the reference share (the fused image's maps) is done once; VIF's boolean-mask
assignments are written as ``masked_fill_`` / ``torch.where``, which move the same values; and
the convolutions of several maps with one window may run as one grouped call, but only where that
call is verified to give the same bits as separate calls (:func:`conv_each`).

torch is imported on first use, inside these functions only: ``import metrics`` and every other
metric and convention work without it; without it these two raise :class:`TorchRequiredError`.
Global torch settings (threads, backends) are never changed here. The float32 sums and means of
the reference are split across torch's intra-op threads, so their last bits depend on the thread
count too (about 1e-7 relative).
"""
from __future__ import annotations

import functools
import platform

import numpy as np

from ._errors import TorchRequiredError

__all__ = ["require_torch", "torch_arithmetic", "cpu_model", "conv_each", "wang_ms_ssim",
           "ivifzoo_vifp"]

# pytorch-msssim defaults used by IVIF_ZOO's ssim.py
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MSSSIM_WIN_SIZE = 11
MSSSIM_WIN_SIGMA = 1.5
MSSSIM_K = (0.01, 0.03)
VIF_SIGMA_NSQ = 2  # Metric_torch.py vifp_mscale


def require_torch(what: str):
    """Import and return ``torch``; raise :class:`TorchRequiredError` naming ``what`` needs it."""
    try:
        import torch
    except ImportError as exc:
        raise TorchRequiredError(
            f"{what} is computed with PyTorch, as its reference code is, but torch cannot be "
            f"imported ({exc}); install it with `pip install torch` (any CPU or CUDA build), or "
            f"use another convention") from exc
    return torch


def torch_arithmetic() -> dict:
    """What decides the last bits of the torch-computed values on this machine (for
    :func:`metrics.provenance`): torch version, device (always the CPU: tensors are created
    there), ATen CPU capability, whether oneDNN is enabled, the intra-op thread count and the CPU
    model. ``"torch": None`` when torch is not installed."""
    try:
        import torch
    except ImportError:
        return {"torch": None, "device": "cpu", "cpu": cpu_model()}
    return {
        "torch": torch.__version__,
        "device": "cpu",
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onednn": bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
    }


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU model name (``/proc/cpuinfo`` on Linux), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _as_tensor(torch, x):
    """A float32 1 x 1 x H x W tensor of a 2-D array (IVIF_ZOO's tensors of a grey image)."""
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None, None]


# --------------------------------------------------------------------------------------------------
# Convolving several maps with one window
# --------------------------------------------------------------------------------------------------
# A single-channel conv2d runs oneDNN's direct kernel, which pads the one output channel to a
# vector of 16 (about 30 ms for a 17 x 17 window on 640 x 480, one AVX-512 core; oneDNN's AVX2
# code has no such kernel and runs its reference implementation, 0.5 s); a grouped call on a
# channels-last stack of the maps runs the depthwise kernel, 6-10x faster. Whether the two round
# alike depends on the machine (they do on AVX-512 and SSE4.1/AVX oneDNN code, they do not for
# 9 x 9 and 17 x 17 windows on AVX2 code, and never where torch would not use oneDNN for the
# single map), so the grouped call is used only after a probe has shown bit-identical outputs.
GROUPED_MIN_WORK = 1 << 20   # outputs x taps of one map below which separate calls are cheap
_PROBE_SCALE = 65025.0       # probe data: uniform in [0, 65025), full float32 mantissas


def _grouped(torch, maps, weight, padding):
    """One grouped (depthwise) ``conv2d`` of the maps stacked as channels (channels-last)."""
    n = len(maps)
    _, _, h, wd = maps[0].shape
    x = torch.empty((1, h, wd, n), dtype=maps[0].dtype).permute(0, 3, 1, 2)  # channels-last
    for k, m in enumerate(maps):  # one strided copy per map (no concatenation first)
        x[:, k:k + 1].copy_(m)
    weights = weight.expand(n, 1, *weight.shape[2:]).contiguous()
    out = torch.nn.functional.conv2d(x, weights, padding=padding, groups=n).contiguous()
    return list(out.split(1, dim=1))


@functools.lru_cache(maxsize=64)
def _grouped_is_exact(h: int, w: int, n: int, padding: int, kh: int, kw: int, weight: bytes,
                      settings: tuple) -> bool:
    """Whether, in this process, the grouped call of :func:`_grouped` on ``n`` maps of h x w gives
    bit for bit what separate ``conv2d`` calls give, tested on random full-mantissa probe maps
    (two of them compared with separate calls; kernels do not branch on the data, and lanes of
    one call run the same instructions). ``settings`` (threads, oneDNN switch, ATen CPU
    capability) is part of the memo key only. Memoised per process: the answer depends on the
    torch build, the CPU and these settings, not on the data."""
    torch = require_torch("the ivifzoo convolutions")
    F = torch.nn.functional
    win = torch.frombuffer(bytearray(weight), dtype=torch.float32).reshape(1, 1, kh, kw)
    gen = torch.Generator().manual_seed(h * 7919 + w)
    probe = [torch.rand((1, 1, h, w), generator=gen) * _PROBE_SCALE for _ in range(n)]
    grouped = _grouped(torch, probe, win, padding)
    return all(torch.equal(grouped[k], F.conv2d(probe[k], win, padding=padding))
               for k in {0, n - 1})


def conv_each(torch, maps, weight, padding: int = 0) -> list:
    """``[F.conv2d(m, weight, padding=padding) for m in maps]`` for 1 x 1 x H x W float32 maps of
    one size and a contiguous 1 x 1 x kh x kw window, bit for bit: as one grouped call where a
    probe on this machine showed that it rounds exactly as the separate calls (see above), else
    separately."""
    F = torch.nn.functional
    _, _, h, w = maps[0].shape
    kh, kw = weight.shape[-2:]
    if len(maps) > 1 and h * w * kh * kw >= GROUPED_MIN_WORK:
        settings = (torch.get_num_threads(), torch.backends.mkldnn.enabled,
                    torch.backends.cpu.get_cpu_capability())
        key = weight.detach().numpy().tobytes()
        if _grouped_is_exact(h, w, len(maps), padding, kh, kw, key, settings):
            return _grouped(torch, maps, weight, padding)
    return [F.conv2d(m, weight, padding=padding) for m in maps]


# --------------------------------------------------------------------------------------------------
# MS-SSIM: pytorch-msssim as copied into IVIF_ZOO's Metric/ssim.py
# --------------------------------------------------------------------------------------------------
def _fspecial_gauss_1d(torch, size: int, sigma: float):
    """pytorch-msssim ``_fspecial_gauss_1d``: 1 x 1 x 1 x size float32 window."""
    coords = torch.arange(size, dtype=torch.float)
    coords -= size // 2
    g = torch.exp(-(coords ** 2) / (2 * sigma ** 2))
    g /= g.sum()
    return g[None, None, None, :]


def _gaussian_filter_each(torch, maps, win):
    """pytorch-msssim ``gaussian_filter`` of each 1 x 1 x H x W map: 'valid' 1-D correlations along
    H (the window transposed to 11 x 1), then along W (every side is >= 11 at the levels IVIF_ZOO
    reaches, so neither pass is skipped). The transposed window is made contiguous here, as
    ``conv2d`` makes its weight contiguous before any kernel reads it."""
    along_h = win.transpose(2, -1).contiguous()
    return conv_each(torch, conv_each(torch, maps, along_h), win.transpose(3, -1).contiguous())


def wang_ms_ssim(sources, y, data_range: float = 255.0) -> np.ndarray:
    """pytorch-msssim ``ms_ssim(X, y, data_range)`` for every ``X`` in ``sources``, as IVIF_ZOO
    runs it: float32 tensors, 5 levels with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333),
    Gaussian window 11 / 1.5 applied as 'valid' 1-D convolutions along H then W, K = (0.01,
    0.03), ``avg_pool2d(2, padding=[s % 2 ...])`` between levels, ReLU on every level's term.

    ``sources`` and ``y`` are 2-D arrays (cast to float32) of the values the reference's tensors
    hold (IVIF_ZOO: the 0-255 image times 255). Returns the float32 values, one per source; the
    caller adds them in float32 as IVIF_ZOO does. Requires torch.
    """
    torch = require_torch("MS-SSIM (ivifzoo)")
    F = torch.nn.functional
    k1, k2 = MSSSIM_K
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    with torch.no_grad():
        xs = [_as_tensor(torch, s) for s in sources]
        y = _as_tensor(torch, y)
        nx = len(xs)
        win = _fspecial_gauss_1d(torch, MSSSIM_WIN_SIZE, MSSSIM_WIN_SIGMA)
        weights = y.new_tensor(MSSSIM_WEIGHTS)
        levels = weights.shape[0]
        mcs = [[] for _ in xs]
        ssim = [None] * nx
        for level in range(levels):
            # filtered x_k, y, x_k^2, y^2, x_k y (y's maps are the same in both ms_ssim calls)
            m = _gaussian_filter_each(
                torch, [*xs, y, *(x * x for x in xs), y * y, *(x * y for x in xs)], win)
            mu2 = m[nx]
            mu2_sq = mu2.pow(2)
            sigma2_sq = m[2 * nx + 1] - mu2_sq
            for k in range(nx):
                mu1 = m[k]
                mu1_sq = mu1.pow(2)
                mu1_mu2 = mu1 * mu2
                sigma1_sq = m[nx + 1 + k] - mu1_sq
                sigma12 = m[2 * nx + 2 + k] - mu1_mu2
                cs_map = (2 * sigma12 + c2) / (sigma1_sq + sigma2_sq + c2)
                if level < levels - 1:
                    mcs[k].append(torch.relu(torch.flatten(cs_map, 2).mean(-1)))
                else:
                    ssim_map = ((2 * mu1_mu2 + c1) / (mu1_sq + mu2_sq + c1)) * cs_map
                    ssim[k] = torch.relu(torch.flatten(ssim_map, 2).mean(-1))
            if level < levels - 1:
                padding = [s % 2 for s in y.shape[2:]]
                xs = [F.avg_pool2d(x, kernel_size=2, padding=padding) for x in xs]
                y = F.avg_pool2d(y, kernel_size=2, padding=padding)
        out = [torch.prod(torch.stack(mcs[k] + [ssim[k]], dim=0) ** weights.view(-1, 1, 1),
                          dim=0).mean() for k in range(nx)]
        return torch.stack(out).numpy()


# --------------------------------------------------------------------------------------------------
# VIF: IVIF_ZOO Metric_torch.py vifp_mscale
# --------------------------------------------------------------------------------------------------
def _ivifzoo_window(torch, n: int):
    """IVIF_ZOO's ``fspecial_gaussian((n, n), n / 5)``: the asymmetric ``linspace(-n // 2, n // 2,
    n)`` grid (-9 .. 8 for n = 17), exp(-(x^2 + y^2) / (2 sigma^2)), divided by its sum; as a
    1 x 1 x n x n float32 weight."""
    sigma = n / 5
    x = torch.linspace(-n // 2, n // 2, n)
    xx, yy = torch.meshgrid(x, x, indexing="ij")
    g = torch.exp(-(xx ** 2 + yy ** 2) / (2 * sigma ** 2))
    return (g / g.sum())[None, None]


def ivifzoo_vifp(refs, dist) -> np.ndarray:
    """IVIF_ZOO's ``vifp_mscale(ref, dist)`` for every reference in ``refs`` (2-D arrays, cast to
    float32): four scales with windows N = 17, 9, 5, 3 on the asymmetric grid, every filtering
    (including the one before the ``[::2, ::2]`` decimation) a zero-padded 'same' ``conv2d``
    (padding N // 2), sigma_n^2 = 2, the reference's clamps in its order, and float32 sums of the
    information maps. Returns the float32 values num / den, one per reference. Requires torch.
    """
    torch = require_torch("VIF (ivifzoo)")
    with torch.no_grad():
        rs = [_as_tensor(torch, r) for r in refs]
        d = _as_tensor(torch, dist)
        num = [torch.zeros((), dtype=torch.float32) for _ in rs]
        den = [torch.zeros((), dtype=torch.float32) for _ in rs]
        nr = len(rs)
        for scale in range(1, 5):
            n = 2 ** (4 - scale + 1) + 1
            win = _ivifzoo_window(torch, n)
            if scale > 1:
                *rs, d = (t[:, :, ::2, ::2] for t in conv_each(torch, [*rs, d], win, n // 2))
            # filtered refs, dist, refs^2, dist^2, refs * dist (dist's maps shared by the refs)
            m = conv_each(torch, [*rs, d, *(r * r for r in rs), d * d, *(r * d for r in rs)],
                          win, n // 2)
            mu2 = m[nr]
            mu2_sq = mu2 * mu2
            sigma2_sq = m[2 * nr + 1] - mu2_sq
            sigma2_sq.masked_fill_(sigma2_sq < 0, 0)
            s2_small = sigma2_sq < 1e-10
            for k in range(nr):
                mu1 = m[k]
                mu1_sq = mu1 * mu1
                mu1_mu2 = mu1 * mu2
                sigma1_sq = m[nr + 1 + k] - mu1_sq
                sigma12 = m[2 * nr + 2 + k] - mu1_mu2
                sigma1_sq.masked_fill_(sigma1_sq < 0, 0)
                g = sigma12 / (sigma1_sq + 1e-10)
                sv_sq = sigma2_sq - g * sigma12
                s1_small = sigma1_sq < 1e-10
                g.masked_fill_(s1_small, 0)
                sv_sq = torch.where(s1_small, sigma2_sq, sv_sq)
                sigma1_sq.masked_fill_(s1_small, 0)
                g.masked_fill_(s2_small, 0)
                sv_sq.masked_fill_(s2_small, 0)
                negative = g < 0
                sv_sq = torch.where(negative, sigma2_sq, sv_sq)
                g.masked_fill_(negative, 0)
                sv_sq.masked_fill_(sv_sq <= 1e-10, 1e-10)
                num[k] += torch.sum(torch.log10(1.0 + (g ** 2.0) * sigma1_sq /
                                                (sv_sq + VIF_SIGMA_NSQ)))
                den[k] += torch.sum(torch.log10(1.0 + sigma1_sq / VIF_SIGMA_NSQ))
        return torch.stack([a / b for a, b in zip(num, den)]).numpy()
