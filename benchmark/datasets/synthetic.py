"""The embedded ``synthetic`` dataset: deterministic procedural IR/VIS pairs (no download), so the
main command works on a fresh machine and the golden test needs no data."""
from __future__ import annotations

import numpy as np

from .spec import Pair

#: (height, width) of the embedded pairs; odd sizes on purpose; every side ≥ 176 so that every
#: metric (5-level MS-SSIM needs > 160) is defined.
SYNTHETIC_SIZES = ((240, 320), (333, 517), (256, 256), (181, 243), (288, 352), (200, 300), (320, 240), (177, 401))


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    x = gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    x -= x.min()
    return x / max(float(x.max()), 1e-12)


def synthetic_pair(index: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic IR/VIS pair ``index``: uint8 IR (H×W) and uint8 RGB VIS (H×W×3).

    IR: a smooth thermal background with a few hot targets (blurred ellipses) and faint sensor noise.
    VIS: a textured scene (sky gradient, textured ground, striped blocks) in colour, with a dark
    (under-exposed) region and an over-exposed region; the targets are barely visible in it.
    """
    from scipy.ndimage import gaussian_filter

    h, w = SYNTHETIC_SIZES[index]
    rng = np.random.default_rng(1000 + index)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    # --- infrared
    ir = 0.15 + 0.25 * _smooth_noise(rng, (h, w), sigma=min(h, w) / 6) + 0.05 * (yy / h)
    targets = np.zeros((h, w))
    for _ in range(int(rng.integers(2, 6))):
        cy, cx = rng.uniform(0.15, 0.85) * h, rng.uniform(0.1, 0.9) * w
        ry, rx = rng.uniform(0.05, 0.15) * h, rng.uniform(0.02, 0.06) * w
        targets = np.maximum(targets, (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0) * rng.uniform(0.75, 1.0))
    targets = gaussian_filter(targets, 1.5)
    ir = np.maximum(ir, targets) + 0.01 * rng.standard_normal((h, w))
    # --- visible
    horizon = rng.uniform(0.3, 0.5) * h
    sky = np.stack([0.45 + 0.3 * (1 - yy / h), 0.55 + 0.3 * (1 - yy / h), 0.8 + 0.15 * (1 - yy / h)], -1)
    tex = _smooth_noise(rng, (h, w), 1.0) * 0.5 + _smooth_noise(rng, (h, w), 4.0) * 0.5
    ground = np.stack([0.25 + 0.35 * tex, 0.3 + 0.35 * tex, 0.15 + 0.25 * tex], -1)
    vis = np.where((yy < horizon)[..., None], sky, ground)
    for _ in range(int(rng.integers(2, 5))):  # striped blocks ("buildings")
        y0 = int(rng.uniform(0.1, 0.5) * h)
        x0, bw = int(rng.uniform(0, 0.8) * w), int(rng.uniform(0.08, 0.2) * w)
        block = 0.35 + 0.25 * (np.sin(xx[y0:, x0:x0 + bw] * rng.uniform(0.3, 0.9)) > 0)
        colour = rng.uniform(0.5, 1.0, size=3)
        vis[y0:, x0:x0 + bw] = block[..., None] * colour
    vis += 0.08 * (targets[..., None] > 0.5) * 0.3  # targets barely visible
    dark = _smooth_noise(rng, (h, w), min(h, w) / 5) > 0.68       # under-exposed region
    vis[dark] *= 0.12
    bright_c = (rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w)
    bright = ((yy - bright_c[0]) ** 2 + (xx - bright_c[1]) ** 2) < (0.12 * min(h, w)) ** 2
    vis[bright] = 0.92 + 0.3 * vis[bright]                        # over-exposed (clips to 255)
    vis += 0.01 * rng.standard_normal(vis.shape)
    ir8 = np.clip(np.floor(ir * 255 + 0.5), 0, 255).astype(np.uint8)
    vis8 = np.clip(np.floor(vis * 255 + 0.5), 0, 255).astype(np.uint8)
    return ir8, vis8


def synthetic_pairs() -> list[Pair]:
    """The embedded ``synthetic`` dataset: one lazily generated :class:`Pair` per size."""
    return [Pair("synthetic", f"synth_{i:02d}", generator=(lambda i=i: synthetic_pair(i)))
            for i in range(len(SYNTHETIC_SIZES))]
