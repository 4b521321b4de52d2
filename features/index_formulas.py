"""Clinical indices of systemic sclerosis: mRSS total, EScSG, revised EUSTAR, ACR/EULAR 2013.

Pure, vectorised calculators with units in their parameter names. Each accepts scalars, sequences,
numpy arrays or pandas Series (``float64``, ``Int64``, ``boolean`` or ``bool`` dtypes) and
returns a Python scalar for all-scalar input, a numpy ``float64`` array (or a pandas
``BooleanArray`` for yes/no results, which may be ``<NA>``) for array input, and a Series on the
shared index for Series input.

Missing items: an item whose input is missing (NaN, ``pd.NA`` or ``None``) may be present or
absent, so an index with missing items is a range of scores (``*_range``: :class:`ScoreRange`,
low = every missing item absent, high = every missing item present). An index reports the score of
its recorded items (the range's low end) when that range lies wholly on one side of its class
threshold (active / criteria met), so the class is decided whatever the missing items are; else
it is NaN ("not assessable"), and so is its class. The low end is then a lower bound, which
callers name with the missing items (:mod:`features.index_columns`).
Cut-offs on raw measurements (mRSS > 14, ESR > 30 mm/h, ...) are compared exactly: no arithmetic
comes between the measurement and the comparison, so no rounding tolerance is needed.

Sections and keys such as ``§2 [S34]`` refer to ``shared/clinical-reference.md``.

One private module per index, re-exported here (import from this module): ``_index_mrss``
(mRSS total), ``_index_escsg`` (EScSG, with its complement item), ``_index_eustar`` (revised
EUSTAR) and ``_index_acr_eular`` (ACR/EULAR 2013); their shared array plumbing, missing items
and :class:`ScoreRange` are in ``_arrays``.
"""

from ssc_response.features._arrays import ScoreRange
from ssc_response.features._index_acr_eular import (
    ACR_EULAR_2013_THRESHOLD,
    ACR_EULAR_2013_WEIGHTS,
    acr_eular_2013_classified,
    acr_eular_2013_range,
    acr_eular_2013_score,
)
from ssc_response.features._index_escsg import (
    ESCSG_THRESHOLD,
    ESCSG_WEIGHTS,
    escsg_active,
    escsg_activity_index,
    escsg_activity_range,
    hypocomplementemia_from_complement,
)
from ssc_response.features._index_eustar import (
    EUSTAR_THRESHOLD,
    EUSTAR_WEIGHTS,
    eustar_active,
    eustar_activity_index,
    eustar_activity_range,
)
from ssc_response.features._index_mrss import mrss_total_from_sites, mrss_total_of_scores

__all__ = [
    "ACR_EULAR_2013_THRESHOLD",
    "ACR_EULAR_2013_WEIGHTS",
    "ESCSG_THRESHOLD",
    "EUSTAR_THRESHOLD",
    "ESCSG_WEIGHTS",
    "EUSTAR_WEIGHTS",
    "ScoreRange",
    "acr_eular_2013_classified",
    "acr_eular_2013_range",
    "acr_eular_2013_score",
    "escsg_active",
    "escsg_activity_index",
    "escsg_activity_range",
    "eustar_active",
    "eustar_activity_index",
    "eustar_activity_range",
    "hypocomplementemia_from_complement",
    "mrss_total_from_sites",
    "mrss_total_of_scores",
]
