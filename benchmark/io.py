"""Image file I/O with clear errors; images are written through the project's atomic writer."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ivif_toolbox import atomic_write_bytes


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class ImageReadError(ValueError):
    """An image file is missing, unreadable or not an 8-bit image; the message names the file."""


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file as stored: uint8 H×W (grey) or H×W×3 (RGB; alpha dropped).

    Channels are returned as the file stores them (a 3-channel grey JPEG stays 3-channel), so each
    metric convention can apply its own grey rule.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such image file")
    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode in ("L", "RGB"):
                arr = np.asarray(im)
            elif mode in ("RGBA", "P", "LA", "CMYK", "YCbCr"):
                arr = np.asarray(im.convert("L" if mode in ("LA",) else "RGB"))
            elif mode in ("I;16", "I;16B", "I", "F", "1"):
                raise ImageReadError(f"{path}: expected an 8-bit grey or RGB image, got PIL mode {mode!r}")
            else:
                arr = np.asarray(im.convert("RGB"))
    except ImageReadError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: cannot decode image ({type(exc).__name__}: {exc})") from None
    if arr.dtype != np.uint8:
        raise ImageReadError(f"{path}: expected 8-bit pixels, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr)


def is_grey(image: np.ndarray) -> bool:
    """True for H×W images and for H×W×3 images whose three channels are equal."""
    if image.ndim == 2:
        return True
    return bool(np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2]))


#: zlib level of the PNGs the harness writes (fused images): 1, not Pillow's default 6. PNG is
#: lossless at every level (identical pixels); for a 1280×1024 fused image level 1 costs 0.08
#: CPU-seconds instead of 0.32 for a file about 15 % larger, and the encoding shares the cores with
#: the metric workers (benchmarks/README.md, runner throughput).
PNG_COMPRESS_LEVEL = 1


def write_png(path: str | Path, image: np.ndarray) -> str:
    """Write a uint8 H×W or H×W×3 array as lossless PNG (zlib level :data:`PNG_COMPRESS_LEVEL`),
    atomically; return the sha256 (hex) of the bytes written."""
    import hashlib
    import io as _io

    from PIL import Image

    if image.dtype != np.uint8:
        raise ValueError(f"write_png({path}): expected uint8, got {image.dtype}")
    buf = _io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    data = buf.getvalue()
    atomic_write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()
