"""Generic checks over every registered fuser (timm-style), parametrised at collection time.

Whatever registers itself through ``import models`` (the baselines, DMNet/RED variants, ...), every
fuser of an installed plug-in package (``benchmark.fusers`` entry points) and the plug-in example of
``docs/adding_a_fuser.md`` (registered for each test as the entry-point loader registers plug-ins)
are checked here automatically: output shape and dtype, finite values in [0, 1], determinism, odd
sizes, batch/single consistency, untouched inputs, and a clear ``FuserInputError`` below the
declared minimum size. Entries tagged ``"heavy"`` are skipped (their tiny variants are checked).
"""
from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import models
from benchmark.fusers import load_entry_point_fusers, register_plugin_fuser
from models import FuserInputError

from _fuser_images import smooth_pair  # tests/models is on sys.path under pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding_a_fuser.md"
#: plug-in fusers checked like the built-in ones: the docs' example, as a user's package provides it
DOC_PLUGIN = "doc-detail-max"

load_entry_point_fusers()        # fusers of installed plug-in packages join the registry
FUSER_NAMES = models.list_fusers() + [DOC_PLUGIN]
SKIP_TAGS = {"heavy": "heavy: covered by its tiny variant"}


def _doc_plugin_class() -> type:
    """``DetailMax`` from the first Python block of docs/adding_a_fuser.md, as an importable module."""
    if "docs_adding_a_fuser" not in sys.modules:
        code = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)[0]
        module = types.ModuleType("docs_adding_a_fuser")
        sys.modules[module.__name__] = module
        exec(compile(code, str(DOC), "exec"), module.__dict__)
    return sys.modules["docs_adding_a_fuser"].DetailMax


@pytest.fixture(autouse=True)
def _plugin_registered(request):
    """Register the docs' plug-in for the tests that are about it, and remove it afterwards."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is None or callspec.params.get("name") != DOC_PLUGIN:
        yield
        return
    register_plugin_fuser(DOC_PLUGIN, _doc_plugin_class())
    try:
        yield
    finally:
        models.FUSERS.unregister(DOC_PLUGIN)


def build(name: str):
    spec = models.fuser_spec(name)
    for tag, reason in SKIP_TAGS.items():
        if tag in spec.tags:
            pytest.skip(reason)
    return models.create_fuser(name)


def check_output(out: np.ndarray, shape: tuple[int, ...]) -> None:
    assert isinstance(out, np.ndarray)
    assert out.shape == shape
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_registry_is_not_empty():
    assert len(FUSER_NAMES) >= 10, FUSER_NAMES
    assert DOC_PLUGIN not in models.FUSERS        # registered only while its own tests run


@pytest.mark.parametrize("name", FUSER_NAMES)
def test_spec_metadata(name):
    spec = models.fuser_spec(name)
    assert spec.name == name and name == name.lower() and " " not in name
    assert spec.description.strip(), f"{name}: empty description"
    assert spec.reference.strip(), f"{name}: empty reference"
    assert spec.framework.strip(), f"{name}: empty framework"


@pytest.mark.parametrize("name", FUSER_NAMES)
def test_output_contract(name):
    fuser = build(name)
    ir, vis = smooth_pair(64, 80)
    out = fuser.run(ir, vis)
    check_output(out, ir.shape)
    assert fuser.name == name
    assert isinstance(fuser.output_policy, str) and fuser.output_policy
    json.dumps(fuser.config())  # the result cache key must be serialisable


@pytest.mark.parametrize("name", FUSER_NAMES)
def test_deterministic(name):
    ir, vis = smooth_pair(48, 72, seed=3)
    fuser = build(name)
    first = fuser.run(ir, vis)
    np.testing.assert_array_equal(fuser.run(ir, vis), first)
    np.testing.assert_array_equal(build(name).run(ir, vis), first)  # a fresh instance too
    assert build(name).config_hash() == fuser.config_hash()


@pytest.mark.parametrize("name", FUSER_NAMES)
def test_odd_size(name):
    fuser = build(name)
    ir, vis = smooth_pair(333, 517, seed=5)
    check_output(fuser.run(ir, vis), (333, 517))


@pytest.mark.parametrize("name", FUSER_NAMES)
def test_inputs_are_not_modified(name):
    fuser = build(name)
    ir, vis = smooth_pair(40, 56, seed=7)
    ir0, vis0 = ir.copy(), vis.copy()
    fuser.run(ir, vis)
    np.testing.assert_array_equal(ir, ir0)
    np.testing.assert_array_equal(vis, vis0)


@pytest.mark.parametrize("name", FUSER_NAMES)
def test_batch_matches_single(name):
    fuser = build(name)
    pairs = [smooth_pair(40, 52, seed=s) for s in (11, 12)]
    ir = np.stack([p[0] for p in pairs])
    vis = np.stack([p[1] for p in pairs])
    batch = fuser.run_batch(ir, vis)
    check_output(batch, ir.shape)
    for i, (a, b) in enumerate(pairs):
        np.testing.assert_allclose(batch[i], fuser.run(a, b), atol=1e-5, err_msg=f"{name}: batch item {i}")


@pytest.mark.parametrize("name", FUSER_NAMES)
def test_below_min_size_is_a_clear_error(name):
    fuser = build(name)
    min_size = fuser.contract.min_size
    assert isinstance(min_size, int) and min_size >= 1
    h, w = min_size - 1, min_size + 8
    ir = np.full((h, w), 0.5, dtype=np.float32)
    with pytest.raises(FuserInputError) as info:
        fuser.run(ir, ir.copy())
    msg = str(info.value)
    assert f"{h}×{w}" in msg and str(min_size) in msg and name in msg, msg
    # and the minimum itself is accepted
    a, b = smooth_pair(min_size, min_size + 3, seed=9)
    check_output(fuser.run(a, b), a.shape)


@pytest.mark.parametrize("name", FUSER_NAMES)
def test_bad_inputs_are_rejected(name):
    fuser = build(name)
    ir, vis = smooth_pair(40, 48)
    with pytest.raises(FuserInputError, match="shape"):
        fuser.run(ir, vis[:, :-1])
    with pytest.raises(FuserInputError, match=r"\[0, 1\]"):
        fuser.run(ir * 2.0, vis)
    with pytest.raises(FuserInputError, match="dtype"):
        fuser.run((ir * 255).astype(np.uint8), vis)


@pytest.mark.parametrize("name", FUSER_NAMES)
def test_framework_has_one_home(name):
    """The framework shown by ``ls`` is the class attribute (lazy entries state it; checked here)."""
    spec = models.fuser_spec(name)
    factory = spec.load()
    if isinstance(factory, type):
        assert spec.framework == factory.framework, f"{name}: registry says {spec.framework!r}"


def test_framework_is_not_a_registration_argument():
    with pytest.raises(TypeError, match="class's `framework` attribute"):
        models.register_fuser("no-such-fuser", framework="PyTorch")
    assert "no-such-fuser" not in models.FUSERS


@pytest.mark.parametrize("name", models.TRAINERS.names())
def test_trainers_resolve_to_classes_that_name_their_fuser(name):
    cls = models.trainer_class(name)
    assert cls.fuser_name == name and name in models.FUSERS


def test_lazy_registration_imports_on_create_only(tmp_path, monkeypatch):
    (tmp_path / "lazy_fuser_mod.py").write_text(
        "from models import Fuser\n"
        "class Half(Fuser):\n"
        "    framework = 'NumPy'\n"
        "    def __init__(self, w=0.5):\n"
        "        self.w = w\n"
        "    def fuse(self, ir, vis_y):\n"
        "        return self.w * ir + (1 - self.w) * vis_y\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import sys

    with models.FUSERS.temporarily("lazy-half", models.FuserSpec(
            "lazy-half", "lazy_fuser_mod:Half", description="d", reference="r", default_kwargs={"w": 0.25})):
        assert "lazy_fuser_mod" not in sys.modules
        fuser = models.create_fuser("lazy-half")
        assert "lazy_fuser_mod" in sys.modules and fuser.name == "lazy-half"
        assert dict(fuser.init_kwargs) == {"w": 0.25}
    assert "lazy-half" not in models.FUSERS
    with pytest.raises(ValueError, match="package.module:attribute"):
        models.register_lazy_fuser("bad-target", "no_colon", framework="NumPy")


def test_init_kwargs_default_is_not_shared_mutable_state():
    from models.baselines.simple import MeanFuser

    fuser = MeanFuser()
    with pytest.raises(TypeError):
        fuser.init_kwargs["x"] = 1               # the class default is read-only
    assert dict(models.Fuser.init_kwargs) == {}
    assert models.create_fuser("mean", weight=0.3).init_kwargs == {"weight": 0.3}
