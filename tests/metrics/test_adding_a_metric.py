"""docs/adding_a_metric.md, executed: its example metric and example convention, registered inside a
temporary registry context, appear everywhere the table is read, and are gone afterwards."""
from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import metrics
from metric_helpers import synthetic_triplet

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding_a_metric.md"
F, A, B = synthetic_triplet(64, 72, colour_vis=True, seed=2)


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def _run_as_module(name: str, code: str) -> types.ModuleType:
    """Execute a documented module's code as the module ``metrics.<name>`` would be."""
    mod = types.ModuleType(f"metrics.{name}")
    exec(compile(code, f"{DOC}:{name}", "exec"), mod.__dict__)
    return mod


def test_the_doc_has_a_metric_and_a_convention_example():
    blocks = _blocks()
    assert len(blocks) == 2
    assert "register_metric(" in blocks[0] and "register_convention(" in blocks[1]
    assert "==" not in "".join(blocks)  # the examples never compare convention names


def test_example_metric_registers_everywhere_and_unregisters():
    before = (list(metrics.METRICS), metrics.describe(verbose=True))
    with metrics.temporarily():
        mod = _run_as_module("brightness", _blocks()[0])
        assert list(metrics.METRICS)[-1] == "BR" and metrics.METRIC_KEYS[-1] == "BR"
        info = metrics.get_metric("br")
        assert info.fn is mod.br is metrics.br and info.direction == "↑"
        assert "BR" in metrics.describe() and "mean grey level" in metrics.describe(verbose=True)
        assert metrics.provenance("BR", "cddfuse") == {
            "metric": "BR", "convention": "cddfuse", "effective_source": "cddfuse", "own": True,
            "reference": "Zhaozixiang1228/MMIF-CDDFuse@fd8da1f", "units": "grey levels",
            "version": "1.0"}
        values = metrics.compute(F, A, B, ["EN", "BR"], convention="tang2023")
        assert list(values) == ["EN", "BR"]
        assert values["BR"] == float(np.mean(F))  # grey fused image: the rule leaves it unchanged
        vifb = metrics.compute_many(F, A, B, ["BR"], ["vifb", "tang2023"])
        assert vifb["vifb"]["BR"] == vifb["tang2023"]["BR"] == values["BR"]
    assert (list(metrics.METRICS), metrics.describe(verbose=True)) == before
    with pytest.raises(metrics.UnknownMetricError, match="unknown metric 'BR'"):
        metrics.get_metric("BR")
    with pytest.raises(AttributeError):
        metrics.br


def test_example_convention_registers_everywhere_and_unregisters():
    with metrics.temporarily():
        _run_as_module("convention_mylab", _blocks()[1])
        assert list(metrics.CONVENTIONS)[-1] == "mylab"
        assert metrics.get_convention("MyLab").grey.name == "pil-L"
        p = metrics.provenance("MI", "mylab")
        assert p["effective_source"] == "tang2023" and p["own"] is False
        assert p["reference"] == "Linfeng-Tang/Evaluation-for-Image-Fusion@7849642"
        assert "mylab" in metrics.describe() and "->tang2023" in metrics.describe()
        keys = ["EN", "MI", "Qabf"]
        ours = metrics.compute(F, A, B, keys, convention="mylab")
        # Tang's formulas on PIL's grey images = tang2023 on the images converted by PIL's rule
        from metrics._triplet import Triplet
        vis_pil = Triplet(F, A, B, "ivifzoo").grey("vis").astype(np.uint8)
        assert ours == metrics.compute(F, A, vis_pil, keys, convention="tang2023")
        assert ours != metrics.compute(F, A, B, keys, convention="tang2023")
        assert metrics.compute_many(F, A, B, keys, ["mylab"])["mylab"] == ours
    assert "mylab" not in metrics.CONVENTIONS
    with pytest.raises(metrics.UnknownConventionError):
        metrics.compute(F, A, B, ["EN"], convention="mylab")


def test_a_metric_without_implementation_under_a_convention_is_refused():
    from metrics.conventions import MATLAB_RGB2GRAY
    with metrics.temporarily():
        metrics.register_convention(metrics.Convention(
            name="bare", reference="x/y@0", title="t", source="s", dtype="d", description="d",
            typical_users="u", grey=MATLAB_RGB2GRAY))
        metrics.implements("EN", "bare")(metrics.implementation("EN", "tang2023").fn)
        assert metrics.compute(F, A, B, ["EN"], convention="bare") == metrics.compute(
            F, A, B, ["EN"])
        with pytest.raises(metrics.UnknownMetricError,
                           match=r"unknown metric \(under convention 'bare'\) 'MI'.*known: EN"):
            metrics.compute(F, A, B, ["MI"], convention="bare")
        rows = {line.split()[0]: line.split() for line in metrics.describe().splitlines()[2:14]}
        assert rows["EN"][7] == "own" and rows["MI"][7] == "-"  # the 'bare' column
    assert "bare" not in metrics.CONVENTIONS and not sys.modules.get("metrics.bare")
