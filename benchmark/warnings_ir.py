"""The true-colour infrared warning: an IR image whose three channels differ.

Thermal images are single-channel; datasets store them as grey files or as RGB files with three
equal channels (LLVIP's JPEGs). An IR file whose channels *differ* is a colour-mapped rendering or a
wrong file: every metric convention then converts it to grey with its own rule (ITU-R BT.601 luma,
the first channel, the mean, ...), so the numbers depend on that rule rather than on the fusion. The
run warns once per dataset, in the log and in ``summary.json`` (``warnings``).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import numpy as np

__all__ = ["CHANNEL_TOLERANCE", "channel_spread", "check_ir_colour"]

#: largest channel difference (grey levels of 8-bit data) still read as grey stored in three
#: channels: lossy codecs may move the channels of a grey image apart by a level or two
CHANNEL_TOLERANCE = 2


def channel_spread(image: np.ndarray) -> int:
    """Largest difference between the colour channels of any pixel (0 for an H×W grey image).

    ``image``: H×W or H×W×C uint8 as stored (C ≥ 3: the first three channels are compared).
    """
    if image.ndim == 2 or image.shape[-1] < 3:
        return 0
    rgb = image[..., :3].astype(np.int16)
    return int(max(np.abs(rgb[..., 0] - rgb[..., 1]).max(), np.abs(rgb[..., 1] - rgb[..., 2]).max()))


def _stored_as_grey(path) -> bool:
    """True when the file header says one channel (no decode needed)."""
    from PIL import Image

    with Image.open(path) as im:
        return im.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "F")


def _spread(dataset: str, pair: Any, known: Mapping[str, int]) -> tuple[int, str] | None:
    """(channel spread, file or name) of a pair's IR image; None when it is unreadable (its pair fails
    later with its own message). Known spreads and files whose header says grey are not decoded."""
    from .io import ImageReadError, read_image

    where = str(pair.ir_path) if pair.ir_path is not None else f"{dataset}/{pair.name} (generated)"
    if pair.name in known:
        return known[pair.name], where
    try:
        if pair.ir_path is None:
            return channel_spread(pair.raw()[0]), where
        if _stored_as_grey(pair.ir_path):
            return 0, where
        return channel_spread(read_image(pair.ir_path)), where
    except (ImageReadError, OSError):
        return None


def check_ir_colour(dataset: str, pairs: Iterable[Any], log: Callable[[str], None], *,
                    known: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """The warning (a one-element list, empty when none) for the first IR image of ``pairs`` whose
    channels differ by more than :data:`CHANNEL_TOLERANCE`; logs it.

    ``known``: the :func:`channel_spread` of pairs already decoded (by pair name; the runner measures
    it on the images it loads anyway and keeps it in the pair's cache record), which are not read
    again. Of the others, files whose header says grey are not decoded; the scan stops at the first
    true-colour image.
    """
    known = known or {}
    for pair in pairs:
        found = _spread(dataset, pair, known)
        if found is None:
            continue
        spread, where = found
        if spread > CHANNEL_TOLERANCE:
            message = (f"[{dataset}] IR image {where} is true colour (its channels differ by up to {spread} grey "
                       f"levels): each metric convention turns it grey with its own rule, so the numbers depend on "
                       f"that rule; check that the IR folder holds the thermal images, not colour-mapped renderings "
                       f"(warned once per dataset)")
            log(message)
            return [{"dataset": dataset, "kind": "ir_true_colour", "pair": pair.name, "file": where,
                     "channel_spread": spread, "message": message}]
    return []
