"""Assemble a synthetic cohort: baseline, follow-up, missingness, typed columns."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from ssc_response.features.schema import fields
from ssc_response.training.simulation import baseline
from ssc_response.training.simulation.baseline import Columns
from ssc_response.training.simulation.followup import simulate_followup
from ssc_response.training.simulation.histology import histology
from ssc_response.training.simulation.missingness import apply_missingness
from ssc_response.training.simulation.outcome import TERM_FIELDS, delta_terms
from ssc_response.training.simulation.scenarios import Scenario, get_scenario

# Dtypes of a validated frame (docs/ARCHITECTURE.md), by dictionary type.
DTYPES: dict[str, str] = {
    "float": "float64",
    "integer": "Int64",
    "boolean": "boolean",
    "category": "string",
    "string": "string",
}
DRIVER_REFERENCE_N = 20_000


def patient_ids(n: int) -> np.ndarray:
    """Pseudonymous identifiers ``SIM-000001`` ... (never names)."""
    numbers = np.char.zfill(np.arange(1, n + 1).astype(str), 6)
    return np.char.add("SIM-", numbers).astype(object)


def simulate_baseline(rng: np.random.Generator, n: int, sc: Scenario) -> Columns:
    """Every baseline field, complete."""
    cols: Columns = {"patient_id": patient_ids(n)}
    cols.update(baseline.demographics(rng, n, sc))
    lat = baseline.make_latents(rng, cols["disease_duration_months"])
    cols.update(baseline.skin(rng, sc, lat))
    cols.update(baseline.vascular(rng, sc, lat))
    cols.update(baseline.organs(rng, sc, lat))
    cols.update(baseline.labs(rng, sc, lat))
    cols.update(baseline.function_scores(rng, lat))
    cols.update(baseline.treatment(rng, sc, n))
    cols.update(histology(rng, sc, lat))
    return cols


def to_frame(cols: Columns) -> pd.DataFrame:
    """Typed frame with the given columns in dictionary order."""
    ordered = {
        name: pd.array(cols[name], dtype=DTYPES[field.type])
        for name, field in fields().items()
        if name in cols
    }
    return pd.DataFrame(ordered)


def simulate_cohort(
    n: int, seed: int, scenario: str | Scenario = "founding_centre"
) -> pd.DataFrame:
    """A synthetic cohort of ``n`` patients with every data-dictionary field.

    Deterministic for a seed; baseline, outcome and missingness use separate random streams, so
    scenarios that differ only in outcome or missingness parameters share their baseline.
    """
    if n < 1:
        raise ValueError(f"n must be a positive number of patients, got {n}")
    sc = get_scenario(scenario)
    base_rng, outcome_rng, missing_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    cols = simulate_baseline(base_rng, n, sc)
    cols.update(simulate_followup(outcome_rng, to_frame(cols), sc))
    return apply_missingness(missing_rng, to_frame(cols), sc)


def complete_baseline(
    n: int, seed: int, scenario: str | Scenario = "founding_centre"
) -> pd.DataFrame:
    """The baseline of ``simulate_cohort(n, seed, scenario)`` before missingness is applied."""
    sc = get_scenario(scenario)
    base_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[0])
    return to_frame(simulate_baseline(base_rng, n, sc))


@lru_cache(maxsize=16)
def _driver_effects(sc: Scenario) -> tuple[tuple[str, float], ...]:
    """Each input field's effect size: summed SD of the mean-ΔmRSS terms it enters."""
    frame = complete_baseline(DRIVER_REFERENCE_N, 0, sc)
    effects: dict[str, float] = {}
    for term, values in delta_terms(frame, sc).items():
        for name in TERM_FIELDS[term]:
            effects[name] = effects.get(name, 0.0) + float(np.std(values))
    ranked = sorted(effects.items(), key=lambda item: -item[1])
    return tuple((name, size) for name, size in ranked if size > 1e-9)


def driver_effects(scenario: str | Scenario = "founding_centre") -> pd.Series:
    """Effect size (points of ΔmRSS, SD of the term over the scenario's cohort) per driver."""
    effects = _driver_effects(get_scenario(scenario))
    return pd.Series(dict(effects), name="effect_sd_points", dtype=float)


def true_drivers(scenario: str | Scenario = "founding_centre") -> list[str]:
    """Input fields that drive ΔmRSS, largest effect first (on the scenario's own cohort)."""
    return [name for name, _ in _driver_effects(get_scenario(scenario))]
