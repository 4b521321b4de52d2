"""Baseline skin-biopsy fields of a synthetic cohort.

Fibrosis grade, hyalinised collagen and myofibroblast scores load on the skin factor so that
their correlation with mRSS is about 0.6-0.8 (r = 0.83 / 0.78 with the local skin score [S73];
r = 0.589 fibrosis vs mRSS [S29]; grade vs mRSS p < 0.0001 [S74]). The infiltrate follows the
inflammation factor. Numeric magnitudes without a verified reference are assumptions (§7.1).
"""

from __future__ import annotations

import numpy as np

from ssc_response.training.simulation.baseline import Columns, Latents
from ssc_response.training.simulation.sampling import (
    FloatArray,
    mix,
    ordinal,
    round_to,
    standardise,
    truncated_normal,
)
from ssc_response.training.simulation.scenarios import Scenario


def _blend(rng: np.random.Generator, *loadings: tuple[FloatArray, float]) -> FloatArray:
    """A standard-normal latent loading on several factors plus its own noise."""
    total = sum(weight * factor for factor, weight in loadings)
    own = max(0.0, 1.0 - sum(weight**2 for _, weight in loadings)) ** 0.5
    return standardise(np.asarray(total) + own * rng.standard_normal(len(loadings[0][0])))


def scores(
    rng: np.random.Generator, lat: Latents, fibrosis: FloatArray, atrophy: FloatArray
) -> Columns:
    """Semi-quantitative grades (integers)."""
    # Myofibroblasts mark active fibrosis: skin plus inflammation (Kissin [S73]; assumption).
    myofibroblast = _blend(rng, (lat.skin, 0.75), (lat.inflammation, 0.35))
    return {
        "fibrosis_grade": ordinal(fibrosis, (0.13, 0.67, 0.20), start=1),  # 6/30/9 of 45 [S74]
        "hyalinized_collagen_score": ordinal(mix(rng, lat.skin, 0.85), (0.10, 0.30, 0.40, 0.20)),
        "myofibroblast_score": ordinal(myofibroblast, (0.15, 0.35, 0.35, 0.15)),
        "inflammatory_infiltrate_score": ordinal(
            mix(rng, lat.inflammation, 0.7),
            (0.30, 0.40, 0.20, 0.10),  # template [S81]
        ),
        "rete_ridge_flattening": ordinal(mix(rng, atrophy, 0.7), (0.15, 0.35, 0.35, 0.15)),
        "adnexal_atrophy": ordinal(
            _blend(rng, (fibrosis, 0.5), (lat.duration, 0.3)), (0.20, 0.35, 0.30, 0.15)
        ),
    }


def measurements(
    rng: np.random.Generator, lat: Latents, fibrosis: FloatArray, atrophy: FloatArray
) -> Columns:
    """Continuous biopsy and ultrasound measures."""
    dermal = truncated_normal(mix(rng, lat.skin, 0.6), 1.3, 0.35, 0.3, 6.0)  # [S82], [S83]
    # Epidermal atrophy in SSc [S43]; 60 ± 15 um is an assumption (§7.1 no verified value).
    epidermal = truncated_normal(-atrophy, 60.0, 15.0, 10.0, 300.0)
    # Fewer dermal vessels in SSc ([S77], [S79]); 60 ± 20 per mm2 is an assumption.
    vessel_latent = _blend(rng, (-lat.skin, 0.4), (-lat.vascular, 0.3))
    vessels = truncated_normal(vessel_latent, 60.0, 20.0, 0.0, 500.0)
    collagen = truncated_normal(mix(rng, fibrosis, 0.6), 75.6, 5.7, 0.0, 100.0)  # [S76]
    edema = truncated_normal(mix(rng, lat.inflammation, 0.5), 31.0, 9.6, 0.0, 100.0)  # [S76]
    return {
        "dermal_thickness_mm": round_to(dermal, 0.01, 0.3, 6.0),
        "epidermal_thickness_um": round_to(epidermal, 0.1, 10.0, 300.0),
        "microvessel_density_per_mm2": round_to(vessels, 0.1, 0.0, 500.0),
        "collagen_area_fraction_pct": round_to(collagen, 0.1, 0.0, 100.0),
        "interstitial_edema_pct": round_to(edema, 0.1, 0.0, 100.0),
    }


def histology(rng: np.random.Generator, sc: Scenario, lat: Latents) -> Columns:
    """All baseline biopsy fields (complete; the biopsy's absence is added with missingness)."""
    fibrosis = mix(rng, lat.skin, 0.85)
    atrophy = mix(rng, lat.skin, 0.4)  # epidermal atrophy: thinner epidermis, flatter ridges
    cols: Columns = {"biopsy_site": np.full(len(lat.skin), sc.biopsy_site, dtype=object)}
    cols.update(scores(rng, lat, fibrosis, atrophy))
    cols.update(measurements(rng, lat, fibrosis, atrophy))
    return cols
