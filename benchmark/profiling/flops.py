"""FLOP counting of one forward of a PyTorch fuser (``torch.utils.flop_counter.FlopCounterMode``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .inputs import smooth_input_pair

#: aten ops whose FLOPs FlopCounterMode does not see (no formula registered); when one of them runs
#: during the count, the record says so and the count is a lower bound
_UNCOUNTED_COMPUTE_OPS = frozenset({
    "aten._native_multi_head_attention", "aten._transformer_encoder_layer_fwd",
    "aten._scaled_dot_product_fused_attention_overrideable", "aten.mv", "aten.addmv", "aten.dot",
    "aten.vdot", "aten.addbmm", "aten.addr", "aten._fft_r2c", "aten._fft_c2c", "aten._fft_c2r",
    "aten.mkldnn_convolution", "aten.mkldnn_linear", "aten._int_mm", "aten._weight_int8pack_mm",
})


@dataclass(frozen=True)
class FlopCount:
    """Result of :func:`count_flops`.

    total: real FLOPs of one forward. by_op: FLOPs per aten op. uncounted_ops: ops that ran but
    have no FLOP formula (the total is then a lower bound). padded_size: (W, H) the forward saw.
    """

    total: int
    by_op: dict[str, int]
    uncounted_ops: tuple[str, ...]
    padded_size: tuple[int, int]


def is_torch_fuser(fuser: Any) -> bool:
    from models.base import TorchFuser

    return isinstance(fuser, TorchFuser)


def _sdpa_cpu_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    from torch.utils.flop_counter import sdpa_flop_count

    return sdpa_flop_count(query_shape, key_shape, value_shape)


def count_flops(fuser: Any, size: str | Sequence[int] = (640, 480), *, seed: int = 0) -> FlopCount:
    """Real FLOPs of one forward of a :class:`~models.base.TorchFuser` at batch 1.

    The synthetic pair at ``size`` (W×H) is reflect-padded per the fuser's contract, as
    :meth:`~models.base.Fuser.run` would, and :meth:`~models.base.TorchFuser.fuse_tensor` (eval
    mode, inference mode, the fuser's precision) runs once under
    ``torch.utils.flop_counter.FlopCounterMode``. The counter has formulas for convolutions,
    (batched) matrix products and the CUDA fused attention kernels, counting 2 FLOPs per
    multiply–add; bias additions and element-wise operations are not counted.

    Fused paths that would hide FLOPs, and how they are handled (the model stays in eval mode, so
    dropout and batch-norm statistics are untouched, unlike the train()-mode trick some harnesses use):

    * ``nn.MultiheadAttention`` / ``nn.TransformerEncoderLayer`` fast paths (one opaque native op
      in eval + inference mode) are disabled for the duration of the count via
      ``torch.backends.mha.set_fastpath_enabled(False)`` and restored afterwards; the regular
      path computes the same result through counted matrix products and SDPA;
    * SDPA on the CPU dispatches to ``_scaled_dot_product_flash_attention_for_cpu``, which has no
      formula; it gets the same formula as the CUDA flash kernel (``4·B·H·Lq·Lk·d``; causal masks
      are not discounted, as in PyTorch's own formulas). The memory-efficient kernels stay in use,
      so large attention maps are never materialised just to count them.

    Any other op that runs without a formula (e.g. FFTs, matrix–vector products) is listed in
    :attr:`FlopCount.uncounted_ops`: the total is then a lower bound.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from torch.utils._python_dispatch import TorchDispatchMode

    from models.base import reflect_pad

    if not is_torch_fuser(fuser):
        raise TypeError(f"count_flops needs a models.base.TorchFuser, got {type(fuser).__name__} "
                        f"(FlopCounterMode only sees PyTorch operations)")
    ir, vis = smooth_input_pair(size, seed)
    m = fuser.contract.pad_multiple
    ir, vis = reflect_pad(ir, m), reflect_pad(vis, m)
    dev = torch.device(fuser.device)
    t_ir = torch.from_numpy(np.ascontiguousarray(ir))[None, None].to(dev)
    t_vis = torch.from_numpy(np.ascontiguousarray(vis))[None, None].to(dev)

    seen: set[str] = set()

    class _OpWatch(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.add(str(func.overloadpacket))
            return func(*args, **(kwargs or {}))

    mapping = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_cpu_flops}
    counter = FlopCounterMode(display=False, custom_mapping=mapping)
    fast_path = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with counter, _OpWatch():
            fuser.fuse_tensor(t_ir, t_vis)
    finally:
        torch.backends.mha.set_fastpath_enabled(fast_path)
    by_op = {str(k): int(v) for k, v in counter.get_flop_counts().get("Global", {}).items()}
    counted = set(by_op) | {str(k) for k in counter.flop_registry}
    uncounted = tuple(sorted(op for op in seen if op in _UNCOUNTED_COMPUTE_OPS and op not in counted))
    return FlopCount(total=int(counter.get_total_flops()), by_op=by_op, uncounted_ops=uncounted,
                     padded_size=(int(ir.shape[1]), int(ir.shape[0])))
