"""Rules across fields and rows: the mRSS total against its 17 sites, unique patient ids.

Like ``features._rules``, they work on parsed numpy arrays and return ``Problem`` lists, one
definition for a record, a batch and a file.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ssc_response.features._parsers import Raw
from ssc_response.features._rules import MRSS_REQUIRED_RULE, Problem, at_row, shown
from ssc_response.features.schema import MRSS_SITE_FIELDS


def mrss_problems(
    n_rows: int,
    parsed: Mapping[str, np.ndarray],
    missing: Mapping[str, np.ndarray],
    raw: Mapping[str, Raw],
) -> list[Problem]:
    """mrss_total or all 17 sites are required; when both are given they must agree."""
    if "mrss_total" not in parsed and parsed.keys().isdisjoint(MRSS_SITE_FIELDS):
        return []  # reported once by required_column_problems, not once per row
    absent = np.ones(n_rows, dtype=bool)
    sites_missing = np.column_stack([missing.get(s, absent) for s in MRSS_SITE_FIELDS])
    total_missing = missing.get("mrss_total", absent)
    problems = [
        Problem(int(row) + 1, "mrss_total", None, _missing_sites_rule(sites_missing[row]))
        for row in np.flatnonzero(total_missing & sites_missing.any(axis=1))
    ]
    if "mrss_total" in parsed:
        problems += _mrss_sum_problems(n_rows, parsed, raw["mrss_total"])
    return problems


def _mrss_sum_problems(n_rows: int, parsed: Mapping[str, np.ndarray], total: Raw) -> list[Problem]:
    """A given total must equal the sum of the sites when all 17 are given and valid."""
    nothing = np.full(n_rows, np.nan)
    scores = np.column_stack([parsed.get(s, nothing) for s in MRSS_SITE_FIELDS])
    site_sum = scores.sum(axis=1)  # NaN when any site is absent or invalid: no sum check then
    given = parsed["mrss_total"]
    mismatch = ~np.isnan(site_sum) & ~np.isnan(given) & (site_sum != given)
    return [
        Problem(
            int(row) + 1,
            "mrss_total",
            shown(at_row(total, int(row))),
            f"must equal the sum of the 17 mRSS site scores ({site_sum[row]:g})",
        )
        for row in np.flatnonzero(mismatch)
    ]


def _missing_sites_rule(site_missing: np.ndarray) -> str:
    """Name the absent sites when some, but not all, were given without a total."""
    if site_missing.all():
        return MRSS_REQUIRED_RULE
    names = [name for name, gone in zip(MRSS_SITE_FIELDS, site_missing, strict=True) if gone]
    return f"{MRSS_REQUIRED_RULE}; missing site scores: {', '.join(names)}"


def duplicate_id_problems(
    ids: np.ndarray, first_row: int = 1, within: str = "the file"
) -> list[Problem]:
    """Each row whose patient_id appears more than once, naming all rows with that ID
    (``ids[0]`` is row ``first_row``; ``within``: what the rows belong to, as the user sees it)."""
    if len(ids) < 2:
        return []
    codes, _ = pd.factorize(ids)  # missing IDs get -1: never duplicates
    duplicated = (codes >= 0) & (np.bincount(codes + 1)[codes + 1] > 1)
    rows_by_id: dict[str, list[int]] = {}
    for row in np.flatnonzero(duplicated):
        rows_by_id.setdefault(str(ids[row]), []).append(int(row) + first_row)
    return [
        Problem(
            row, "patient_id", pid, f"must be unique in {within}; also in {_rows(rows, row)}"
        )
        for pid, rows in rows_by_id.items()
        for row in rows
    ]


def _rows(rows: list[int], this_row: int) -> str:
    """'row 3' or 'rows 3, 5': the other rows sharing an ID."""
    others = [str(r) for r in rows if r != this_row]
    return f"row{'s' if len(others) > 1 else ''} {', '.join(others)}"
