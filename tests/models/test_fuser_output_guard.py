"""Fuser.run refuses an output that is not the input's image: any other shape after the declared
unpadding (larger outputs are not cropped silently), or a dtype that is not real floating/integer."""
from __future__ import annotations

import numpy as np
import pytest

from models.base import Fuser, FuserOutputError, InputContract


class Returns(Fuser):
    """Returns ``make(ir)`` whatever it is given."""

    def __init__(self, make, pad_multiple: int = 1):
        self.make = make
        self.contract = InputContract(pad_multiple=pad_multiple)

    def fuse(self, ir, vis_y):
        return self.make(ir)


IR = np.full((10, 13), 0.5, np.float32)


def test_an_output_of_the_padded_size_is_cropped_back():
    out = Returns(lambda x: x, pad_multiple=8).run(IR, IR)
    assert out.shape == (10, 13) and out.dtype == np.float32


@pytest.mark.parametrize("pad, make, expected", [
    (1, lambda x: np.pad(x, ((0, 2), (0, 0))), r"returned shape \(12, 13\), expected \(10, 13\)$"),
    (1, lambda x: x[:, :-1], r"returned shape \(10, 12\), expected \(10, 13\)$"),
    (8, lambda x: np.pad(x, ((0, 8), (0, 0))), r"returned shape \(24, 16\), expected \(16, 16\) \(the input "
                                               r"\(10, 13\) padded to a multiple of 8\)"),
    (8, lambda x: x[:10, :13], r"returned shape \(10, 13\), expected \(16, 16\)"),
])
def test_an_output_of_any_other_shape_fails(pad, make, expected):
    with pytest.raises(FuserOutputError, match=expected):
        Returns(make, pad_multiple=pad).run(IR, IR)


@pytest.mark.parametrize("make, dtype", [
    (lambda x: x.astype(np.complex64), "complex64"),
    (lambda x: x > 0.2, "bool"),
    (lambda x: x.astype(object), "object"),
])
def test_an_output_that_is_not_real_numbers_fails(make, dtype):
    with pytest.raises(FuserOutputError, match=f"returned dtype {dtype}, expected a real floating or integer array"):
        Returns(make).run(IR, IR)


def test_integer_outputs_are_numbers():
    out = Returns(lambda x: np.ones(x.shape, np.uint8)).run(IR, IR)
    assert out.dtype == np.float32 and (out == 1).all()
