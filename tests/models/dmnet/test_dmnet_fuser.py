"""The registered ``dmnet`` / ``dmnet-tiny`` fusers: contract, determinism, odd sizes, stretch option."""
import warnings

import numpy as np
import pytest

import models.dmnet  # noqa: F401
from models import TorchFuser, create_fuser, fuser_spec
from models.base import FuserInputError


@pytest.fixture(scope="module")
def tiny():
    with pytest.warns(UserWarning, match="meaningless"):
        return create_fuser("dmnet-tiny", seed=0)


def _pair(h, w, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((h, w), dtype=np.float32), rng.random((h, w), dtype=np.float32)


def test_registry_entries():
    full, small = fuser_spec("dmnet"), fuser_spec("dmnet-tiny")
    assert full.needs_weights and not small.needs_weights
    assert full.framework == small.framework == "PyTorch"
    assert "heavy" in full.tags and "tiny" in small.tags
    assert full.default_kwargs == {"variant": "dmnet"} and small.default_kwargs == {"variant": "tiny"}
    assert {"params_expected", "params_released_config", "params_paper"} <= set(full.extra)
    assert "DMNet" in full.reference


def test_contract_and_provenance(tiny):
    assert isinstance(tiny, TorchFuser)
    assert tiny.contract.pad_multiple == 16 and tiny.contract.clamp_output
    assert tiny.weights_provenance == "random init (no checkpoint)"
    assert tiny.checkpoint_hash() is None and tiny.precision == "fp32"
    assert "stretch" not in tiny.output_policy.replace("no stretch", "")


def test_odd_size_runs_and_stays_in_range(tiny):
    ir, vis = _pair(333, 517)
    out = tiny.run(ir, vis)
    assert out.shape == (333, 517) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (17, 40)])
def test_small_sizes(tiny, shape):
    ir, vis = _pair(*shape)
    assert tiny.run(ir, vis).shape == shape


def test_deterministic_for_a_seed(tiny):
    ir, vis = _pair(40, 56, seed=1)
    a = tiny.run(ir, vis)
    np.testing.assert_array_equal(a, tiny.run(ir, vis))
    with pytest.warns(UserWarning):
        same = create_fuser("dmnet-tiny", seed=0)
        other = create_fuser("dmnet-tiny", seed=1)
    np.testing.assert_array_equal(a, same.run(ir, vis))
    assert not np.array_equal(a, other.run(ir, vis))


def test_batch_matches_single_pairs(tiny):
    (ir1, vis1), (ir2, vis2) = _pair(32, 48, 2), _pair(32, 48, 3)
    batch = tiny.run_batch(np.stack([ir1, ir2]), np.stack([vis1, vis2]))
    np.testing.assert_allclose(batch[0], tiny.run(ir1, vis1), atol=1e-5)
    np.testing.assert_allclose(batch[1], tiny.run(ir2, vis2), atol=1e-5)


def test_stretch_option_is_recorded_and_applied(tiny):
    with pytest.warns(UserWarning):
        st = create_fuser("dmnet-tiny", seed=0, stretch=True)
    assert "min-max stretch" in st.output_policy
    assert st.config()["output_policy"] != tiny.config()["output_policy"]
    assert st.config_hash() != tiny.config_hash()
    ir, vis = _pair(35, 50, 4)
    out, plain = st.run(ir, vis), tiny.run(ir, vis)
    assert out.min() == 0.0 and out.max() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(out, (plain - plain.min()) / (plain.max() - plain.min()), atol=1e-5)
    b = st.run_batch(np.stack([ir, ir]), np.stack([vis, vis]))
    assert b.shape == (2, 35, 50) and b[1].min() == 0.0


def test_argument_checks():
    with pytest.raises(ValueError, match="CUDA"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            create_fuser("dmnet-tiny", precision="bf16")
    with pytest.raises(ValueError, match="variant"):
        create_fuser("dmnet-tiny", variant="huge")
    with pytest.raises(TypeError, match="seed"):
        create_fuser("dmnet-tiny", seed=1.5)
    with pytest.raises(FileNotFoundError):
        create_fuser("dmnet-tiny", checkpoint="does-not-exist.safetensors")


def test_input_contract_is_applied(tiny):
    ir, vis = _pair(20, 20)
    with pytest.raises(FuserInputError):
        tiny.run(ir * 2, vis)
