"""Memory-saving backpropagation through additive couplings (RevNet / IDM style).

A *coupling* maps two streams ``(x1, x2) -> (y1, y2) = (b·x2 + F(x1), x1)``; its inverse is
``x1 = y2``, ``x2 = (y1 − F(y2)) / b``. RED (Xu et al., "Reversible Efficient Diffusion for Image
Fusion", arXiv 2601.20260, §3) writes the DDIM sampling chain this way, f_{t+1} = f_{t−1} + F_t(f_t)
(b = 1), and, following its parent design IDM (Invertible Diffusion Models, TPAMI 2025), rewires
the residual blocks of the U-Net into couplings with b = v and F = (1 − v)·M.

:class:`RevBackProp` runs a sequence of couplings **without storing any activation**: it keeps only
the final two streams. Its backward walks the couplings in reverse, reconstructs each input from
the output (``x2 = (y1 − F(x1)) / b``), recomputes F with gradients enabled and back-propagates
through that one coupling only. Peak memory is one coupling body instead of the whole sequence.

Departure from IDM (recorded in ``docs/red.md``): the parameters and the side inputs (U-Net skips)
are passed to the Function as explicit inputs and their gradients are *returned* from ``backward``
(``torch.autograd.grad``) instead of being accumulated with a nested ``.backward()`` call. This

* makes autograd record the Function whenever a parameter requires grad, even when the data input
  does not (the "requires-grad gotcha" of IDM-style code cannot silently freeze the U-Net);
* lets gradients reach side inputs without re-entering the enclosing graph (no repeated
  recomputation of the down path per consumer of a skip);
* keeps DDP's gradient hooks and ``find_unused_parameters`` working, since every parameter is on
  the recorded graph and receives exactly one gradient per backward.
"""
from __future__ import annotations

from typing import Callable, Protocol, Sequence

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint


class Coupling(Protocol):
    """One additive coupling ``y1 = b·x2 + F(x1, sides)``, ``y2 = x1``."""

    def residual(self, x1: Tensor, sides: Sequence[Tensor]) -> Tensor:
        """F(x1) (including any coefficient such as 1 − v)."""

    def coefficient(self) -> Tensor | float:
        """b, the coefficient of x2 (1.0 or a learnable scalar tensor)."""


def coupling_forward(c: Coupling, x1: Tensor, x2: Tensor, sides: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """Apply one coupling: ``(x1, x2) -> (b·x2 + F(x1), x1)``."""
    return c.coefficient() * x2 + c.residual(x1, sides), x1


def coupling_inverse(c: Coupling, y1: Tensor, y2: Tensor, sides: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """Invert one coupling: ``x1 = y2``, ``x2 = (y1 − F(y2)) / b``."""
    return y2, (y1 - c.residual(y2, sides)) / c.coefficient()


class RevBackProp(torch.autograd.Function):
    """Run couplings without storing activations; reconstruct and recompute in backward.

    ``apply(x1, x2, couplings, n_sides, *sides, *params)`` returns the final ``(x1, x2)``.
    ``params`` must contain every parameter the couplings use (their gradients are returned);
    ``sides`` are extra tensor inputs of the coupling bodies (e.g. U-Net skips).

    Set ``trace`` to a list on the coupling holder to record the reconstructed inputs in backward
    (used by the reconstruction tests): ``couplings.trace.append((x1, x2))`` per coupling, last first.
    """

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda")
    def forward(ctx, x1: Tensor, x2: Tensor, couplings, n_sides: int, *tensors: Tensor):
        sides = tensors[:n_sides]
        with torch.no_grad():
            for c in couplings:
                x1, x2 = coupling_forward(c, x1, x2, sides)
        ctx.couplings = couplings
        ctx.n_sides = n_sides
        ctx.save_for_backward(x1, x2, *tensors)
        return x1, x2

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx, dy1: Tensor, dy2: Tensor):
        y1, y2, *tensors = ctx.saved_tensors
        sides = [s.detach().requires_grad_(True) for s in tensors[:ctx.n_sides]]
        params = tensors[ctx.n_sides:]
        wrt = [p for p in params if p.requires_grad] + sides
        acc: list[Tensor | None] = [None] * len(wrt)
        trace = getattr(ctx.couplings, "trace", None)
        y1, y2 = y1.detach(), y2.detach()
        for c in reversed(ctx.couplings):
            with torch.enable_grad():
                x1 = y2.detach().requires_grad_(True)
                fx = c.residual(x1, sides)
                b = c.coefficient()
                with torch.no_grad():
                    x2 = (y1 - fx) / b
                x2 = x2.detach().requires_grad_(True)
                y1_re = b * x2 + fx
            grads = torch.autograd.grad(y1_re, [x1, x2] + wrt, dy1, allow_unused=True)
            if trace is not None:
                trace.append((x1.detach(), x2.detach()))
            dx1 = grads[0] + dy2 if grads[0] is not None else dy2
            dx2 = grads[1] if grads[1] is not None else torch.zeros_like(x2)
            for i, g in enumerate(grads[2:]):
                if g is not None:
                    acc[i] = g if acc[i] is None else acc[i] + g
            y1, y2, dy1, dy2 = x1.detach(), x2.detach(), dx1, dx2
            del fx, y1_re, grads
        # map the accumulated gradients back to the positions of the Function's inputs
        n_trainable = len(wrt) - len(sides)
        it = iter(acc[:n_trainable])
        param_grads = [next(it) if p.requires_grad else None for p in params]
        side_grads = acc[n_trainable:]
        return (dy1, dy2, None, None, *side_grads, *param_grads)


def run_couplings(couplings: Sequence[Coupling], x1: Tensor, x2: Tensor, *, sides: Sequence[Tensor] = (),
                  params: Sequence[Tensor] = (), reversible: bool) -> tuple[Tensor, Tensor]:
    """Run ``couplings`` on ``(x1, x2)``: through :class:`RevBackProp` or plain autograd.

    The reversible path is only taken when a graph is being recorded (under ``no_grad`` or
    inference mode the two are the same computation, and the plain loop has no overhead).
    """
    if len(couplings) == 0:
        raise ValueError("run_couplings: expected at least one coupling, got none")
    if reversible and torch.is_grad_enabled():
        return RevBackProp.apply(x1, x2, couplings, len(sides), *sides, *params)
    for c in couplings:
        x1, x2 = coupling_forward(c, x1, x2, sides)
    return x1, x2


def maybe_checkpoint(fn: Callable[..., Tensor], *args: Tensor, enabled: bool) -> Tensor:
    """``fn(*args)``, activation-checkpointed (non-reentrant) when ``enabled`` and grads are recorded."""
    if enabled and torch.is_grad_enabled():
        return checkpoint(fn, *args, use_reentrant=False)
    return fn(*args)


class CouplingList(list):
    """A list of couplings that can carry a ``trace`` attribute (see :class:`RevBackProp`)."""

    trace: list | None = None
