"""Numbers as the validation commands print them (shared by validate and validate --served)."""

from __future__ import annotations

import math


def ci(metrics: dict[str, float], name: str, digits: int) -> str:
    """A metric with its 95 % interval, e.g. "0.712 (95 % CI 0.640 to 0.784)"."""
    value = metrics[name]
    low, high = metrics.get(f"{name}_ci_low", math.nan), metrics.get(f"{name}_ci_high", math.nan)
    return f"{value:.{digits}f} (95 % CI {low:.{digits}f} to {high:.{digits}f})"
