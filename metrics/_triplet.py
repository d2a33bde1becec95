"""One validated (fused, ir, vis) triplet prepared for one convention, and the work it shares.

:class:`Triplet` holds the checked images and the :class:`~metrics.conventions.Convention`, and
memoises what its metrics compute (grey images, histograms, filtered moments, VIF passes ...), so
that :func:`metrics.compute` does each piece of work once for all metrics.

:class:`SharedWork` is the store behind it for *pure* computations keyed by the content of their
inputs: several triplets (one per convention, :class:`metrics.TripletWork`) share one, so a grey
image two conventions agree on is histogrammed, filtered and VIF-passed once. Keys name the
operation, its options and the :meth:`SharedWork.token` of every input array; two arrays get the
same token only when they are equal element for element, so a shared result is exactly the result
the other convention would have computed.
"""
from __future__ import annotations

import warnings
from typing import Callable, Hashable

import numpy as np

from ._validation import CheckedImage, check_triplet
from .conventions import DEFAULT_CONVENTION, Convention, get_convention

__all__ = ["Triplet", "SharedWork"]

_SAMPLE = 1009  # stride of the cheap pre-comparison of two arrays before the full one


class SharedWork:
    """Results of pure computations, keyed by operation, options and input tokens.

    ``content_keyed``: whether equal arrays held in different objects share a token (compared
    element for element; one triplet evaluated under several conventions). When False, only the
    same array object shares a token (one convention, nothing to compare). Warnings a shared
    computation emits are recorded and re-emitted for every triplet that uses its result, so that
    each convention reports exactly the warnings a separate evaluation would.
    """

    def __init__(self, *, content_keyed: bool = False):
        self.content_keyed = content_keyed
        self._arrays: list[tuple[int, np.ndarray]] = []
        self._entries: dict = {}
        self._ntokens = 0

    def token(self, x: np.ndarray) -> int:
        """A small integer naming the content of ``x`` (the same for equal arrays when
        ``content_keyed``, else for the same object)."""
        for tok, rep in self._arrays:
            if rep is x:
                return tok
        if self.content_keyed:
            flat = x.reshape(-1)
            for tok, rep in self._arrays:
                if rep.shape == x.shape and rep.dtype == x.dtype \
                        and np.array_equal(rep.reshape(-1)[::_SAMPLE], flat[::_SAMPLE]) \
                        and np.array_equal(rep, x):
                    self._arrays.append((tok, x))
                    return tok
        tok = self._ntokens
        self._ntokens += 1
        self._arrays.append((tok, x))
        return tok

    def get(self, key: Hashable, fn: Callable):
        """The result of ``fn()`` stored under ``key``, computed on first use; the warnings of
        that computation are re-emitted on every use when the store is shared."""
        hit = self._entries.get(key)
        if hit is None:
            if self.content_keyed:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    value = fn()
                hit = (value, tuple(caught))
            else:
                hit = (fn(), ())
            self._entries[key] = hit
        value, caught = hit
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return value


class Triplet:
    """One validated (fused, ir, vis) triplet prepared for one convention, with a memo cache.

    ``f``, ``a`` (infrared) and ``b`` (visible) are the validated :class:`CheckedImage` inputs as
    given (grey or RGB); ``convention`` is the :class:`Convention` object. :meth:`grey` returns the
    convention's grey version of one of them.
    """

    def __init__(self, fused, ir, vis, convention: "str | Convention" = DEFAULT_CONVENTION, *,
                 _checked: tuple[CheckedImage, CheckedImage, CheckedImage] | None = None,
                 work: SharedWork | None = None):
        self.convention = get_convention(convention)
        self.f, self.a, self.b = _checked if _checked is not None else check_triplet(fused, ir, vis)
        self.work = work if work is not None else SharedWork()
        self._memo: dict = {}

    # -- memo API -------------------------------------------------------------------------------
    @property
    def hw(self) -> tuple[int, int]:
        return self.f.hw

    def image(self, which: str) -> CheckedImage:
        return {"fused": self.f, "ir": self.a, "vis": self.b}[which]

    def memo(self, key: Hashable, fn: Callable):
        """This triplet's value under ``key``, computed with ``fn()`` on first use."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = fn()
            return value

    def shared(self, op: str, arrays: tuple, options: tuple, fn: Callable):
        """``fn()``, a pure function of ``arrays`` and ``options``, computed once per distinct
        content for every triplet of this triplet's :class:`SharedWork` (and memoised here)."""
        key = (op, tuple(self.work.token(x) for x in arrays), options)
        return self.memo(("shared", key), lambda: self.work.get(key, fn))

    # -- colour to grey -------------------------------------------------------------------------
    def grey(self, which: str) -> np.ndarray:
        """The convention's grey image (float64, 0-255) of ``which`` in {"fused", "ir", "vis"}.

        Grey inputs are returned unchanged (every rule maps three equal channels to their value);
        RGB inputs go through the convention's :class:`~metrics.conventions.GreyRule`.
        """
        im = self.image(which)
        if im.channels == 1:
            return im.data
        rule = self.convention.grey
        return self.shared("grey", (im.data,), (rule.name, im.integer),
                           lambda: rule.convert(im.data, im.integer))

    def grey_is_integer(self, which: str) -> bool:
        return self.image(which).integer

    # -- VIFB channel loop ----------------------------------------------------------------------
    def channels(self) -> list["Triplet"]:
        """The per-channel sub-triplets of VIFB's ``compute_metrics`` loop.

        Fused grey: one call on the images as they are. Fused RGB: for channel k, the triplet
        (F_k, IR_k or IR, VIS_k or VIS), a grey source being reused for every channel.
        """
        def build():
            if self.f.channels == 1:
                return [self]
            subs = [Triplet(None, None, None, self.convention, work=self.work,
                            _checked=(self.f.channel(k), self.a.channel(k), self.b.channel(k)))
                    for k in range(3)]
            return subs
        return self.memo("channels", build)

    def channel_mean(self, per_channel: Callable[["Triplet"], float]) -> float:
        """VIFB's channel loop: the mean of ``per_channel`` over the fused image's channels."""
        return float(np.mean([per_channel(s) for s in self.channels()]))
