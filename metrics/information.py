"""Information-theory metrics: EN (entropy) and MI (mutual information)."""
from __future__ import annotations

import numpy as np

from ._evaluate import evaluate
from ._histograms import entropy, hist256, joint_hist256, levels
from ._matlab import matlab_round
from ._table import MetricInfo, implements, register_metric
from ._triplet import Triplet
from .conventions import DEFAULT_CONVENTION

__all__ = ["en", "mi"]

_LN2 = float(np.log(2.0))


def _levels(t: Triplet, which: str, what: str) -> np.ndarray:
    """Grey levels 0..255 (uint8) of the convention's grey image, cached (shared by EN and MI)."""
    return t.memo(("levels", which), lambda: t.shared(
        "levels", (t.grey(which),), (t.grey_is_integer(which), what),
        lambda: levels(t.grey(which), t.grey_is_integer(which), what)))


# ------------------------------------------------------------------------------------------------
# EN
# ------------------------------------------------------------------------------------------------
@implements("EN", "tang2023", "tang2022", "cddfuse")
def _en_levels(t: Triplet) -> float:
    return entropy(hist256(_levels(t, "fused", "EN")), 2.0)


@implements("EN", "ivifzoo")
def _en_biased(t: Triplet) -> float:
    # Metric_torch.py: -sum p log2(p + 1e-7)
    counts = hist256(_levels(t, "fused", "EN"))
    p = counts / counts.sum()
    return float(-(p * np.log2(p + 1e-7)).sum())


def _en_vifb_channel(t: Triplet) -> float:
    # VIFB metricsEntropy: bin floor(F)+1 of the double values, p = count/(m*n), log2.
    q = np.floor(t.f.data).astype(np.intp)
    return entropy(hist256(q), 2.0)


@implements("EN", "vifb")
def _en_vifb(t: Triplet) -> float:
    return t.channel_mean(_en_vifb_channel)


def en(fused, ir, vis, *, convention: str = DEFAULT_CONVENTION) -> float:
    """Entropy EN of the fused image, in bits (0-8, higher is better).

    EN = -sum_k p_k log2 p_k over the 256-bin grey-level histogram of the fused image
    (Roberts, van Aardt, Ahmed, "Assessment of image fusion procedures using entropy, image
    quality, and multispectral classification", J. Appl. Remote Sens. 2(1), 2008).
    ``ir`` and ``vis`` are validated but not used.

    Parameters
    ----------
    fused, ir, vis : ndarray
        H x W or H x W x 3 (RGB) arrays, uint8 or float in [0, 255], same height and width; a
        float image in [0, 1] beside a 0-255 one is refused (it would score EN 1.0 or less).
    convention : str, keyword-only
        ``tang2023``/``tang2022``: MATLAB ``entropy`` of the uint8 grey image (Tang's
        ``analysis_Reference.m``). ``vifb``: VIFB ``metricsEntropy.m``, bin ``floor(F)+1``,
        averaged over the fused image's channels. ``cddfuse``: ``Evaluator.EN`` (identical
        formula). ``ivifzoo``: ``Metric_torch.py``, ``-sum p log2(p + 1e-7)`` (bias about 1e-5).

    Returns
    -------
    float
        EN in bits. A constant fused image gives 0 (ivifzoo: -1.4e-7 from its 1e-7 bias).

    Notes
    -----
    Non-integer float input is rounded to 8-bit levels first (``QuantizationWarning``).
    """
    return evaluate("EN", fused, ir, vis, convention)


# ------------------------------------------------------------------------------------------------
# MI
# ------------------------------------------------------------------------------------------------
def _mi_from_joint(joint: np.ndarray, log) -> float:
    """MI from a joint histogram, marginals taken from the joint table."""
    h_s = entropy(joint.sum(axis=1), 2.0)
    h_f = entropy(joint.sum(axis=0), 2.0)
    h_sf = entropy(joint.ravel(), 2.0)
    mi_bits = h_s + h_f - h_sf
    return mi_bits if log == "bits" else mi_bits * _LN2


@implements("MI", "tang2023", "tang2022")
def _mi_tang(t: Triplet) -> float:
    # Tang MI_evaluation.m: marginals from the images, joint histogram of (x+1) in uint8
    # arithmetic, so 255+1 saturates and levels 254 and 255 share a joint bin.
    qf = _levels(t, "fused", "MI")
    total = 0.0
    for src in ("ir", "vis"):
        qs = _levels(t, src, "MI")
        hj = joint_hist256(qs, qf, top=254)
        total += entropy(hist256(qs), 2.0) + entropy(hist256(qf), 2.0) - entropy(hj.ravel(), 2.0)
    return total


def _mi_plain(t: Triplet, log: str) -> float:
    """MI(IR, F) + MI(VIS, F) from plain 256 x 256 joint histograms, in ``log`` units."""
    qf = _levels(t, "fused", "MI")
    return sum(_mi_from_joint(joint_hist256(_levels(t, src, "MI"), qf), log) for src in ("ir", "vis"))


@implements("MI", "ivifzoo")
def _mi_bits(t: Triplet) -> float:
    return _mi_plain(t, "bits")


@implements("MI", "cddfuse", units="nats")
def _mi_nats(t: Triplet) -> float:
    return _mi_plain(t, "nats")


def _minmax_bins(x: np.ndarray) -> np.ndarray:
    """VIFB metricsMutinf: min-max normalise to [0,1] (constant -> 0), bin = int16(x*255) (0-based)."""
    lo, hi = x.min(), x.max()
    if hi == lo:
        return np.zeros(x.shape, dtype=np.uint8)
    y = (x - lo) / (hi - lo)
    return matlab_round(y * 255.0).astype(np.uint8)


@implements("MI", "vifb", units="nats")
def _mi_vifb(t: Triplet) -> float:
    return t.channel_mean(_mi_vifb_call)


def _mi_vifb_call(t: Triplet) -> float:
    # VIFB metricsMutinf(VIS, IR, F) = MI(VIS, F) + MI(IR, F) in nats; a 3-channel image in a pair
    # goes through rgb2gray (uint8, rounded) first, i.e. the convention's grey image.
    qf = _minmax_bins(t.grey("fused"))
    total = 0.0
    for src in ("vis", "ir"):
        total += _mi_from_joint(joint_hist256(_minmax_bins(t.grey(src)), qf), "nats")
    return total


def mi(fused, ir, vis, *, convention: str = DEFAULT_CONVENTION) -> float:
    """Mutual information MI = MI(IR, F) + MI(VIS, F) (higher is better). **Units differ.**

    MI(S, F) = H(S) + H(F) - H(S, F) from 256-bin grey-level histograms (Qu, Zhang, Yan,
    "Information measure for performance of image fusion", Electronics Letters 38(7), 2002).

    Parameters
    ----------
    fused, ir, vis : ndarray
        H x W or H x W x 3 (RGB) arrays, uint8 or float in [0, 255], same height and width.
    convention : str, keyword-only
        * ``tang2023``/``tang2022`` (bits): Tang ``MI_evaluation.m``. Quirk reproduced: the joint
          histogram is built from ``x + 1`` in uint8 arithmetic, so grey levels 254 and 255 share
          a joint bin (marginals unmerged); e.g. 2.8382 instead of 2.8330 bits.
        * ``ivifzoo`` (bits): ``Metric_torch.py``, plain 256x256 joint histogram, no merge.
        * ``cddfuse`` (**nats**): scikit-learn ``mutual_info_score`` as in ``Evaluator.MI``;
          equals the ivifzoo value times ln 2.
        * ``vifb`` (**nats**): VIFB ``metricsMutinf.m``: each image min-max normalised separately,
          binned with ``int16(x*255)``, natural log; per-channel loop for an RGB fused image.

    Returns
    -------
    float
        MI in bits or nats (see :func:`metrics.provenance` for the unit of a convention).
    """
    return evaluate("MI", fused, ir, vis, convention)


register_metric(MetricInfo(
    key="EN", name="en", display_name="EN", higher_is_better=True, category="information theory",
    units="bits", version="1.0", reference="Roberts et al., J. Appl. Remote Sens. 2(1), 2008",
    description="Shannon entropy of the fused grey-level histogram", column=1, fn=en))
register_metric(MetricInfo(
    key="MI", name="mi", display_name="MI", higher_is_better=True, category="information theory",
    units="bits", version="1.0", reference="Qu, Zhang, Yan, Electronics Letters 38(7), 2002",
    description="mutual information MI(IR,F) + MI(VIS,F)", column=7, fn=mi))
