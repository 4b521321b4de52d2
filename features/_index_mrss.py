"""Modified Rodnan skin score total (§1.1), public through :mod:`features.index_formulas`.

Input and output conventions: :mod:`features.index_formulas`. Sections and keys such as
``§1.1 [S1]`` refer to ``shared/clinical-reference.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ssc_response.features._arrays import _as_float
from ssc_response.features.schema import MRSS_SITE_FIELDS


def mrss_total_from_sites(sites: pd.DataFrame) -> pd.Series:
    """Modified Rodnan skin score total (0-51): the sum of the 17 site scores (§1.1 [S1], [S3]).

    Parameters
    ----------
    sites : DataFrame
        The 17 ``mrss_<site>`` columns of ``features.schema.MRSS_SITE_FIELDS`` (points, 0-3).

    Returns
    -------
    Series of float64 on ``sites.index``; NaN where any site score is missing, because a partial
    sum would understate the total.
    """
    absent = [name for name in MRSS_SITE_FIELDS if name not in sites.columns]
    if absent:
        raise KeyError(f"mrss_total_from_sites needs all 17 site columns; missing {absent}")
    scores = np.column_stack([_as_float(sites[name]) for name in MRSS_SITE_FIELDS])
    return pd.Series(mrss_total_of_scores(scores), index=sites.index, name="mrss_total",
                     dtype="float64")


def mrss_total_of_scores(scores: np.ndarray) -> np.ndarray:
    """The totals of a (patients x 17) array of site scores in
    :data:`features.schema.MRSS_SITE_FIELDS` order: NaN where any site is missing."""
    return np.asarray(scores, dtype="float64").sum(axis=1)
