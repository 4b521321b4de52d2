"""When two computed numbers count as the same answer, and how far apart they were.

A model's outputs are floating-point sums whose order depends on the batch, the CPU's BLAS kernels
and library versions: a row scored alone and in a batch, or on two machines, can differ in the
16th significant digit. Comparisons of served numbers (replay, the parity checks of a saved
model, "alone equals in a batch" tests) therefore use one stated tolerance, never bit equality:

    |a - b| <= max(RELATIVE_TOLERANCE * max(|a|, |b|), ABSOLUTE_FLOOR)

The relative part (1e-9, about seven digits more than anyone reads) is what matters; the tiny
absolute floor (1e-12) only stops two values that are both essentially zero (a contribution of
1e-17 against -3e-18) from counting as far apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_FLOOR = 1e-12


def is_number(value: Any) -> bool:
    """A real number (bool is not one here: ``True`` is a flag, not 1)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def close(first: float, second: float) -> bool:
    """Whether two numbers are the same answer within the stated tolerance (NaN equals NaN)."""
    if math.isnan(first) or math.isnan(second):
        return math.isnan(first) and math.isnan(second)
    return math.isclose(first, second, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_FLOOR)


@dataclass(frozen=True)
class Distance:
    """The largest absolute and relative difference over the numbers compared."""

    max_abs: float = 0.0
    max_rel: float = 0.0

    @classmethod
    def between(cls, pairs: Iterable[tuple[float, float]]) -> Distance:
        """Over pairs of numbers (pairs where both are NaN count as equal)."""
        largest_abs = largest_rel = 0.0
        for first, second in pairs:
            if math.isnan(first) and math.isnan(second):
                continue
            gap = abs(first - second)
            scale = max(abs(first), abs(second))
            largest_abs = max(largest_abs, gap)
            largest_rel = max(largest_rel, gap / scale if scale > 0 else 0.0)
        return cls(largest_abs, largest_rel)

    def __str__(self) -> str:
        return f"largest absolute difference {self.max_abs:.3g}, relative {self.max_rel:.3g}"

