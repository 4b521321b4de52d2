"""scikit-learn's own estimator checks over the project's custom transformers."""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

from ssc_response.features.pipeline import ClinicalIndices

# Check name -> why it cannot apply, per estimator. Every check passes today, so nothing is listed;
# an entry needs a reason (strict xfail flags an entry once its check starts passing).
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {"ClinicalIndices": {}}


def expected_failed_checks(estimator: BaseEstimator) -> dict[str, str]:
    return EXPECTED_FAILED_CHECKS[type(estimator).__name__]


@parametrize_with_checks(
    [ClinicalIndices()], expected_failed_checks=expected_failed_checks, xfail_strict=True
)
def test_sklearn_compatible_estimator(estimator: BaseEstimator, check: object) -> None:
    check(estimator)  # type: ignore[operator]
