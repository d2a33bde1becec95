"""Seeded smooth test images for the fuser tests (imported by the test modules beside it)."""
from __future__ import annotations

import cv2
import numpy as np


def smooth_image(height: int, width: int, seed: int, cell: int = 8) -> np.ndarray:
    """A seeded, smooth random image in [0, 1] (cubic-upsampled noise plus faint texture), float32."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((height // cell + 2, width // cell + 2)).astype(np.float32)
    img = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    img += 0.03 * rng.standard_normal((height, width)).astype(np.float32)
    img -= img.min()
    img /= img.max()
    return (0.02 + 0.96 * img).astype(np.float32)


def smooth_pair(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two differently textured smooth images of the same size."""
    return smooth_image(height, width, seed), smooth_image(height, width, seed + 1000, cell=13)
