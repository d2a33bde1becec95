"""Dataset loaders on the mini datasets, the synthetic set, colour handling and bad input."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from benchmark.colour import recombine, rgb_to_ycbcr, unit_to_uint8, ycbcr_to_rgb
from benchmark.datasets import (DatasetError, DatasetNotFoundError, SYNTHETIC_SIZES, get_dataset, synthetic_pair,
                                validate_dataset)
from benchmark.io import ImageReadError, read_image

MINI = {  # dataset -> (pairs in ../shared/datasets, expected IR/VIS shapes of the first pair)
    "msrs": (4, (480, 640), (480, 640, 3)),
    "llvip": (4, (1024, 1280), (1024, 1280, 3)),
    "tno": (4, (576, 768), (576, 768)),
    "roadscene": (4, (265, 546), (265, 546, 3)),
    "roadscene-50": (4, (265, 546), (265, 546, 3)),
    "harvard-ct": (4, (256, 256), (256, 256)),
}


@pytest.mark.parametrize("name", sorted(MINI))
def test_loader_on_mini_dataset(name, shared_datasets_dir):
    n, ir_shape, vis_shape = MINI[name]
    spec = get_dataset(name)
    listing = spec.listing(shared_datasets_dir)
    assert len(listing.pairs) == n and not listing.unpaired_ir and not listing.unpaired_vis
    pair = listing.pairs[0].load()
    assert pair.ir.dtype == np.float32 and pair.ir.shape == ir_shape
    assert pair.vis.shape == vis_shape
    for arr in (pair.ir, pair.vis):
        assert 0.0 <= arr.min() and arr.max() <= 1.0
    assert pair.ir_raw.dtype == np.uint8
    assert len(listing.pairs[0].source_hash()) == 64


def test_harvard_roles(shared_datasets_dir):
    pair = get_dataset("harvard-ct").listing(shared_datasets_dir).pairs[0]
    assert pair.ir_path.parent.name == "CT" and pair.vis_path.parent.name == "MRI"


def test_synthetic_is_deterministic_and_varied():
    a_ir, a_vis = synthetic_pair(1)
    b_ir, b_vis = synthetic_pair(1)
    assert np.array_equal(a_ir, b_ir) and np.array_equal(a_vis, b_vis)
    assert a_ir.shape == SYNTHETIC_SIZES[1] == (333, 517)
    assert a_vis.shape == (333, 517, 3) and a_vis.dtype == np.uint8
    assert (a_vis == 255).any() and (a_vis < 20).any()        # over- and under-exposed regions
    assert a_ir.max() > 180 and np.median(a_ir) < 130          # hot targets on a cooler background
    pairs = get_dataset("synthetic").listing(None).pairs
    assert len(pairs) == 8 and len({p.source_hash() for p in pairs}) == 8


def test_missing_dataset_error_shows_layout(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        get_dataset("llvip").listing(tmp_path)
    assert "LLVIP/infrared/test" in str(err.value) and "3463" in str(err.value)


def _copy_msrs(src, dst):
    shutil.copytree(src / "MSRS", dst / "MSRS")
    return dst / "MSRS" / "test"


def test_corrupt_image_names_the_file(tmp_path, shared_datasets_dir):
    test = _copy_msrs(shared_datasets_dir, tmp_path)
    bad = test / "vi" / "00085D.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    pairs = get_dataset("msrs").listing(tmp_path).pairs
    with pytest.raises(ImageReadError, match="00085D.png"):
        next(p for p in pairs if p.name == "00085D").load()
    rep = validate_dataset(get_dataset("msrs"), tmp_path)
    assert rep.status == "errors" and any("00085D.png" in u for u in rep.unreadable)


def test_size_mismatch_is_a_clear_error(tmp_path, shared_datasets_dir):
    from PIL import Image

    test = _copy_msrs(shared_datasets_dir, tmp_path)
    path = test / "ir" / "00055D.png"
    Image.fromarray(read_image(path)[:400, :600]).save(path)
    pair = next(p for p in get_dataset("msrs").listing(tmp_path).pairs if p.name == "00055D")
    with pytest.raises(DatasetError, match=r"size mismatch.*IR is 600×400, VIS is 640×480"):
        pair.load()
    rep = validate_dataset(get_dataset("msrs"), tmp_path)
    assert rep.size_mismatches == ["00055D: IR 600×400 vs VIS 640×480"]


def test_unpaired_files_reported(tmp_path, shared_datasets_dir):
    test = _copy_msrs(shared_datasets_dir, tmp_path)
    (test / "vi" / "00123D.png").unlink()
    listing = get_dataset("msrs").listing(tmp_path)
    assert len(listing.pairs) == 3 and [p.name for p in listing.unpaired_ir] == ["00123D.png"]


def test_ycbcr_round_trip_and_recombine():
    rng = np.random.default_rng(0)
    rgb = rng.random((17, 23, 3)).astype(np.float32)
    y, cb, cr = rgb_to_ycbcr(rgb)
    assert np.abs(ycbcr_to_rgb(y, cb, cr) - rgb).max() < 3e-3
    # recombining the visible Y itself gives back the visible image
    assert np.abs(recombine(y, rgb) - rgb).max() < 3e-3
    grey = rng.random((5, 7)).astype(np.float32)
    assert np.array_equal(recombine(grey, grey), grey)
    assert unit_to_uint8(np.array([0.0, 0.5, 1.0, 1.2, -0.1])).tolist() == [0, 128, 255, 255, 0]
