"""Assertions shared by tests in several packages."""

from __future__ import annotations

from typing import Any

from ssc_response.models.tolerance import close


def assert_same_answer(expected: Any, got: Any, path: str = "") -> None:
    """Equal structure, every value of the very same type and equal, floats within the stated
    tolerance of :mod:`models.tolerance` (relative 1e-9; NaN equals NaN).

    Never bit-exact: the order of a floating-point sum depends on the batch and the CPU's BLAS
    kernels, so a row scored alone and in a batch may differ in the 16th digit.
    """
    assert type(got) is type(expected), f"{path}: {type(got)} is not {type(expected)}"
    if isinstance(expected, dict):
        assert list(got) == list(expected), path
        for key in expected:
            assert_same_answer(expected[key], got[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), path
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            assert_same_answer(e, g, f"{path}[{i}]")
    elif isinstance(expected, float):
        assert close(expected, got), f"{path}: {got!r} != {expected!r}"
    else:
        assert got == expected, f"{path}: {got!r} != {expected!r}"



def assert_same_table(expected: Any, got: Any) -> None:
    """Two prediction tables (pandas frames) row for row: the same columns, text columns equal
    (missing as blank), number columns within the stated tolerance of :mod:`models.tolerance`."""
    from pandas.api.types import is_float_dtype

    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for name in expected.columns:
        if is_float_dtype(expected[name]):
            pairs = zip(expected[name].astype(float), got[name].astype(float), strict=True)
            far = [(e, g) for e, g in pairs if not close(e, g)]
            assert not far, f"{name}: {len(far)} values differ, e.g. {far[:3]}"
        else:
            assert list(expected[name].fillna("").astype(str)) == list(
                got[name].fillna("").astype(str)), name
