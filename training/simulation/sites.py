"""Allocation of an mRSS total to the 17 site scores.

The total (0-51) is drawn first; it is then spread over 51 "slots" (17 sites x 3 grades) by
weighted sampling without replacement (the Gumbel top-k trick, vectorised over patients). A
site's score is the number of its slots chosen, so every site stays in 0-3 and the sites sum
exactly to the total.
"""

from __future__ import annotations

import numpy as np

from ssc_response.features.schema import MRSS_SITES
from ssc_response.training.simulation.sampling import IntArray

# Relative propensity of a site to be involved. Distal upper-limb skin is involved first and
# most in dcSSc; trunk least (§10.1 "fingers/hands/forearms highest, back/abdomen lowest",
# an assumption; site sensitivity pattern in [S8]).
SITE_PROPENSITY: dict[str, float] = {
    "face": 1.2,
    "anterior_chest": 0.8,
    "abdomen": 0.5,
    "fingers": 3.0,
    "hands": 2.6,
    "forearms": 2.2,
    "upper_arms": 1.2,
    "thighs": 0.8,
    "lower_legs": 1.2,
    "feet": 0.9,
}
# Higher grades of a site are progressively less likely than its first grade (assumption).
GRADE_DECAY = 0.7
# SD of a per-patient shared effect on the right and left of a pair: sides look alike.
PAIR_SD = 0.6
GRADES = 3


def _region(site: str) -> str:
    """``fingers_r`` -> ``fingers``; unpaired sites are their own region."""
    return site.removesuffix("_r").removesuffix("_l")


def _slot_log_weights() -> np.ndarray:
    """Log sampling weight of each of the 51 slots, site-major then grade."""
    site_w = np.log([SITE_PROPENSITY[_region(s)] for s in MRSS_SITES])
    grade_w = np.arange(GRADES) * np.log(GRADE_DECAY)
    return (site_w[:, None] + grade_w[None, :]).ravel()


def _slot_region_index() -> np.ndarray:
    """Index of each slot's region, so that both sides of a pair share one random effect."""
    regions = list(dict.fromkeys(_region(s) for s in MRSS_SITES))
    per_site = np.array([regions.index(_region(s)) for s in MRSS_SITES])
    return np.repeat(per_site, GRADES)


def allocate_sites(rng: np.random.Generator, totals: IntArray) -> IntArray:
    """Site scores, shape (n, 17), each row summing to its total (which must be 0-51)."""
    n = len(totals)
    region_index = _slot_region_index()
    region_effect = rng.normal(0.0, PAIR_SD, size=(n, int(region_index.max()) + 1))
    keys = (
        _slot_log_weights()[None, :]
        + region_effect[:, region_index]
        + rng.gumbel(size=(n, region_index.size))
    )
    order = np.argsort(-keys, axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(region_index.size)[None, :], axis=1)
    chosen = ranks < totals[:, None]
    return chosen.reshape(n, len(MRSS_SITES), GRADES).sum(axis=2).astype(np.int64)
