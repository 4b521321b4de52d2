"""The describe report: ``report.html`` with its tables as CSV and its plots as PNG, in a folder.

The page is self-contained HTML (no script, no external style), every value escaped; the CSV
files hold the same numbers unrounded, for scripts.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ssc_response.training.describe import MEASURES, paired_values
from ssc_response.training.describe_plots import slope_figure
from ssc_response.training.describe_responders import RESPONDERS

# EUSTAR dcSSc cohort of Dobrota 2016 (clinical-reference §1.3, [S24]): median 16 (IQR 11-23).
UNTREATED_BASELINE_MRSS = "median 16 (IQR 11–23) in 919 EUSTAR dcSSc patients [S24]"
CAUTION = (
    "This is an uncontrolled before-and-after series. It cannot separate the effect of the "
    "transplant from regression to the mean (patients are often treated when their skin is "
    "at its worst, and a high baseline mRSS falls most without any treatment [S12]) and from "
    "the natural course of diffuse SSc, whose skin improves in about a quarter of patients "
    "within a year without study treatment [S12], [S16]. Read every change below beside the "
    "untreated rates, and only a randomised comparison as evidence of effect."
)
STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem;font-size:0.85rem}
th,td{border:1px solid #ccc;padding:0.2rem 0.5rem;text-align:left}
th{background:#f0f0f0} .caution{border-left:6px solid #d08c00;background:#fff6e0;padding:0.8rem}
.plots{display:flex;flex-wrap:wrap;gap:0.5rem} .plots img{width:18rem} small{color:#555}
"""


@dataclass(frozen=True)
class DescribeTables:
    """The three tables of a describe report (as written to CSV)."""

    table1: pd.DataFrame
    before_after: pd.DataFrame
    responders: pd.DataFrame


def _number(value: object, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, int | np.integer):
        return str(value)
    return f"{float(value):.{digits}g}"  # type: ignore[arg-type]


def _percent(value: float) -> str:
    return "—" if math.isnan(value) else f"{100 * value:.0f} %"


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, na_rep="—", border=0)


def _before_after_view(table: pd.DataFrame) -> pd.DataFrame:
    labels = {m.name: f"{m.label} ({m.unit})" for m in MEASURES}
    return pd.DataFrame({
        "measure": table["measure"].map(labels),
        "pairs": table["n_paired"],
        "median before": table["median_before"].map(_number),
        "median after": table["median_after"].map(_number),
        "median change (Hodges–Lehmann, 95 % CI)": [
            f"{_number(c)} ({_number(lo)} to {_number(hi)})" for c, lo, hi in
            zip(table["median_change"], table["change_ci_low"], table["change_ci_high"],
                strict=True)],
        "Wilcoxon p": table["wilcoxon_p"].map(_number),
    })


def _responder_view(table: pd.DataFrame) -> pd.DataFrame:
    labels = {r.column: r.label for r in RESPONDERS}
    return pd.DataFrame({
        "responder": table["responder"].map(labels), "definition": table["definition"],
        "responders / evaluable": [f"{k} / {n}" for k, n in
                                   zip(table["n_responders"], table["n_evaluable"], strict=True)],
        "observed rate (Wilson 95 % CI)": [
            f"{_percent(r)} ({_percent(lo)} to {_percent(hi)})" for r, lo, hi in
            zip(table["rate"], table["ci_low"], table["ci_high"], strict=True)],
        "expected without the transplant": table["untreated_rate"].map(_percent),
        "source of the untreated rate": table["untreated_source"],
    })


def write_plots(frame: pd.DataFrame, folder: Path) -> list[Path]:
    """One slope graph per measure with at least one pair, as PNG."""
    paths = []
    for measure in MEASURES:
        before, after = paired_values(frame, measure)
        if len(before) == 0:
            continue
        path = folder / f"before_after_{measure.name}.png"
        slope_figure(measure, before, after).savefig(path, dpi=100)
        paths.append(path)
    return paths


def _baseline_mrss_text(tables: DescribeTables) -> str:
    row = tables.before_after[tables.before_after["measure"] == "mrss_total"]
    if row.empty or row["n_paired"].iloc[0] == 0:
        return ""
    median = _number(row["median_before"].iloc[0])
    return (f"<p>Baseline mRSS of the patients with both visits: median {median}; untreated "
            f"dcSSc reference: {html.escape(UNTREATED_BASELINE_MRSS)}. The higher this "
            "cohort's baseline, the more improvement regression to the mean alone predicts."
            "</p>")


def render_html(tables: DescribeTables, plots: list[Path], title: str) -> str:
    """The report page."""
    images = "".join(f'<img src="{html.escape(p.name)}" alt="{html.escape(p.stem)}">'
                     for p in plots)
    before_after = ("<p>No follow-up visits: nothing to compare.</p>"
                    if tables.before_after["n_paired"].sum() == 0
                    else _table(_before_after_view(tables.before_after)))
    responders = ("<p>No follow-up visits: no responder can be counted.</p>"
                  if tables.responders.empty else _table(_responder_view(tables.responders)))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<div class="caution" role="note"><strong>Caution.</strong> {html.escape(CAUTION)}</div>
<h2>Responder rates</h2>
<p><small>Wilson 95 % confidence intervals; the untreated rates come from published cohorts
and placebo arms (references as in the project's clinical reference).</small></p>
{responders}
{_baseline_mrss_text(tables)}
<h2>Before and after</h2>
<p><small>Change is follow-up minus baseline in the measure's units. Median paired change:
Hodges–Lehmann estimate with its distribution-free 95 % CI; p: Wilcoxon signed-rank test.
Only patients with both visits count.</small></p>
{before_after}
<div class="plots">{images}</div>
<h2>Table 1: baseline characteristics</h2>
<p><small>n (%) for categories; mean (SD), or median [Q1,Q3] for integer scores and skewed
measures; Missing: count and percent of patients without the value.</small></p>
{_table(tables.table1)}
<p><small>Tables as CSV: table1.csv, before_after.csv, responders.csv.</small></p>
</body></html>
"""


def write_report(tables: DescribeTables, frame: pd.DataFrame, folder: Path,
                 title: str) -> list[Path]:
    """report.html, the three CSV tables and the plots into ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    csvs = {"table1.csv": tables.table1, "before_after.csv": tables.before_after,
            "responders.csv": tables.responders}
    for name, table in csvs.items():
        table.to_csv(folder / name, index=False)
    plots = write_plots(frame, folder)
    page = folder / "report.html"
    page.write_text(render_html(tables, plots, title), encoding="utf-8")
    return [page, *(folder / name for name in csvs), *plots]
