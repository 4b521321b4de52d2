"""Assertions shared by tests in several packages."""

from __future__ import annotations

import math
from typing import Any


def assert_identical(expected: Any, got: Any, path: str = "", tolerance: float = 0.0) -> None:
    """Equal structure, every value of the very same type and equal (NaN equals NaN); floats
    may differ by ``tolerance``."""
    assert type(got) is type(expected), f"{path}: {type(got)} is not {type(expected)}"
    if isinstance(expected, dict):
        assert list(got) == list(expected), path
        for key in expected:
            assert_identical(expected[key], got[key], f"{path}.{key}", tolerance)
    elif isinstance(expected, list):
        assert len(got) == len(expected), path
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            assert_identical(e, g, f"{path}[{i}]", tolerance)
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got), path
    elif isinstance(expected, float):
        assert abs(got - expected) <= tolerance, f"{path}: {got!r} != {expected!r}"
    else:
        assert got == expected, f"{path}: {got!r} != {expected!r}"
