"""Two simulation studies of the same cohorts, side by side: is the new one no worse?

Both studies' ``results.csv`` (:mod:`training.study`) hold one row per scenario, size and seed;
a seed gives the same simulated cohort in both (the simulator's cohorts are fixed per seed), so
the differences are paired by seed, and their Monte-Carlo standard error is the standard
deviation of the paired differences over the square root of the number of seeds.

The criterion (issue 19's "no worse than before"), per scenario and size, on the deployment
(fresh-patient) numbers and the reported (validated) ones:

* AUROC: the new mean at most :data:`AUROC_MARGIN` below the old;
* calibration slope: the new median within :data:`SLOPE_MARGIN` of the old (the table says
  when a new median outside that margin is nearer 1, i.e. better calibrated).

``ssc-response study-compare OLD/results.csv NEW/results.csv`` prints the tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AUROC_MARGIN = 0.01
SLOPE_MARGIN = 0.1
KEYS = ["scenario", "n", "seed"]


def paired(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The cohorts both studies ran (status ok), one row per scenario, size and seed, with
    each number as ``<name>_old`` and ``<name>_new``."""
    done_old = old[old["status"] == "ok"]
    done_new = new[new["status"] == "ok"]
    return done_old.merge(done_new, on=KEYS, suffixes=("_old", "_new"))


def _mc_se(differences: pd.Series) -> float:
    """Monte-Carlo standard error of a mean over seeds (NaN with fewer than two finite values:
    a champion that predicts one probability for everyone has no calibration slope)."""
    values = differences.to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else np.nan


def compare_studies(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and size: old and new AUROC (means) and calibration slope (medians), their
    paired differences with Monte-Carlo standard errors, and whether each criterion holds."""
    rows = []
    for (scenario, n), cell in paired(old, new).groupby(["scenario", "n"]):
        row: dict[str, object] = {"scenario": scenario, "n": int(n), "seeds": len(cell)}
        for kind in ("external", "reported"):
            auroc_old, auroc_new = cell[f"{kind}_auroc_old"], cell[f"{kind}_auroc_new"]
            slope_old = cell[f"{kind}_calibration_slope_old"]
            slope_new = cell[f"{kind}_calibration_slope_new"]
            auroc_diff = float((auroc_new - auroc_old).mean())
            slope_diff = float(slope_new.median() - slope_old.median())
            row |= {
                f"{kind}_auroc_old": float(auroc_old.mean()),
                f"{kind}_auroc_new": float(auroc_new.mean()),
                f"{kind}_auroc_diff": auroc_diff,
                f"{kind}_auroc_diff_se": _mc_se(auroc_new - auroc_old),
                f"{kind}_auroc_ok": auroc_diff >= -AUROC_MARGIN,
                f"{kind}_slope_old": float(slope_old.median()),
                f"{kind}_slope_new": float(slope_new.median()),
                f"{kind}_slope_diff": slope_diff,
                f"{kind}_slope_paired_diff": float((slope_new - slope_old).mean()),
                f"{kind}_slope_diff_se": _mc_se(slope_new - slope_old),
                f"{kind}_slope_ok": abs(slope_diff) <= SLOPE_MARGIN,
                # A slope further from the old one but nearer 1 is better calibrated, not worse.
                f"{kind}_slope_nearer_one": (abs(slope_new.median() - 1)
                                             <= abs(slope_old.median() - 1)),
            }
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_markdown(comparison: pd.DataFrame, kind: str = "external") -> str:
    """One table: old, new, difference ± Monte-Carlo SE, and the verdict per criterion."""
    header = ("| scenario | n | seeds | AUROC old | AUROC new | Δ AUROC ± MC SE | "
              f"AUROC within {AUROC_MARGIN} | slope old (median) | slope new (median) | "
              f"Δ slope: of medians; paired mean ± MC SE | slope within {SLOPE_MARGIN} |")
    lines = [header, "|" + "---|" * 11]
    for _, row in comparison.iterrows():
        lines.append(
            f"| {row['scenario']} | {row['n']} | {row['seeds']} "
            f"| {row[f'{kind}_auroc_old']:.3f} | {row[f'{kind}_auroc_new']:.3f} "
            f"| {row[f'{kind}_auroc_diff']:+.3f} ± {row[f'{kind}_auroc_diff_se']:.3f} "
            f"| {_verdict(row[f'{kind}_auroc_ok'])} "
            f"| {row[f'{kind}_slope_old']:.2f} | {row[f'{kind}_slope_new']:.2f} "
            f"| {row[f'{kind}_slope_diff']:+.2f}; {row[f'{kind}_slope_paired_diff']:+.2f} ± "
            f"{row[f'{kind}_slope_diff_se']:.2f} "
            f"| {_verdict(row[f'{kind}_slope_ok'], row[f'{kind}_slope_nearer_one'])} |")
    return "\n".join(lines)


def _verdict(ok: object, nearer_one: object = False) -> str:
    if bool(ok):
        return "yes"
    return "no, but nearer 1" if bool(nearer_one) else "**no**"
