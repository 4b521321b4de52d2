"""Synthetic cohorts: the project's embedded default data set.

``simulate_cohort(n, seed, scenario)`` returns a typed frame with every data-dictionary field
(baseline and follow-up), deterministic for a seed, with realistic missingness. Two scenarios
are registered in ``SCENARIOS``: ``founding_centre`` (Astana-like refractory long-standing
disease, [S42]) and ``early_trial`` (trial-like early dcSSc, [S11], [S17]).

How the data are made
---------------------
* Baseline: four shared Gaussian factors (skin, inflammation, vascular, lung) induce the
  correlations; marginals follow clinical-reference §8 and §10.1 (``baseline``, ``histology``).
  The mRSS total is drawn first and split over the 17 sites so that they sum to it (``sites``).
* Outcome: the structural model of §10.2, written out in ``outcome``'s docstring::

      delta_mrss = natural_history + treatment_effect + noise

  with regression to the mean, early worsening (< 18 months), late drift (>= 24 months),
  friction rubs, anti-RNAP3 x early disease, male sex, and an MSC effect of about -6 points
  modified by inflammation and histology (a hypothesis). ``expected_delta_mrss`` is the
  noise-free mean, ``true_drivers`` lists the inputs that drive it, largest effect first.
  Setting ``treatment_effect_points=0`` gives the natural-history arm.
* Follow-up secondary outcomes track the skin change (``followup``).
* Missingness: panels blanked MCAR plus a little MAR at ``Scenario`` rates (``missingness``).
* ``cohort_summary`` and ``literature_targets`` compare a cohort with published values
  (``report``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ssc_response.training.simulation.scenarios import (
    SCENARIOS,
    Scenario,
    UnknownScenarioError,
    deployment_scenario,
    get_scenario,
)

if TYPE_CHECKING:
    from ssc_response.training.simulation.cohort import (
        complete_baseline,
        driver_effects,
        simulate_cohort,
        true_drivers,
    )
    from ssc_response.training.simulation.outcome import delta_terms, expected_delta_mrss
    from ssc_response.training.simulation.report import cohort_summary
    from ssc_response.training.simulation.targets import compare_with_targets, literature_targets

# Public names served lazily (PEP 562), so that importing ``scenarios`` (the CLI does, to build
# its --help) does not load numpy, pandas and scipy.
_LAZY: dict[str, str] = {
    "complete_baseline": "cohort",
    "driver_effects": "cohort",
    "simulate_cohort": "cohort",
    "true_drivers": "cohort",
    "delta_terms": "outcome",
    "expected_delta_mrss": "outcome",
    "cohort_summary": "report",
    "compare_with_targets": "targets",
    "literature_targets": "targets",
}

__all__ = [
    "SCENARIOS",
    "Scenario",
    "UnknownScenarioError",
    "cohort_summary",
    "compare_with_targets",
    "complete_baseline",
    "delta_terms",
    "deployment_scenario",
    "driver_effects",
    "expected_delta_mrss",
    "get_scenario",
    "literature_targets",
    "simulate_cohort",
    "true_drivers",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
