"""Tables the researcher's commands print: the promotion gate after ``train``, the ``runs`` board.

Drawn with rich (typer's own dependency), which knows the terminal's width: the board shows the
columns that fit, most useful first, and names the ones left out (``--columns`` chooses).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from ssc_response.training.promotion import GateCheck

Row = Any  # one run: a row (pandas Series) of ``mlflow.search_runs``
MISSING = "-"


def gate_table(checks: Sequence[GateCheck]) -> Table:
    """Each threshold of the experiment's gate, the run's validated value, pass or FAIL."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("threshold")
    table.add_column("value", justify="right")
    table.add_column("result")
    for check in checks:
        value = "not measured" if check.value is None else f"{check.value:.3f}"
        table.add_row(f"{check.metric} {check.op} {check.limit:g}", value,
                      "pass" if check.passed else "FAIL")
    return table


def _number(name: str, digits: int = 3) -> Callable[[Row], str]:
    return lambda row: _shown(row.get(f"metrics.{name}"), digits)


def _tag(name: str) -> Callable[[Row], str]:
    return lambda row: _shown(row.get(f"tags.{name}"))


def _interval(name: str) -> Callable[[Row], str]:
    def text(row: Row) -> str:
        low, high = (_shown(row.get(f"metrics.{name}_ci_{end}")) for end in ("low", "high"))
        return MISSING if MISSING in (low, high) else f"{low}-{high}"
    return text


def _started(row: Row) -> str:
    start = row.get("start_time")
    return start.strftime("%Y-%m-%d %H:%M") if isinstance(start, datetime) else MISSING


# The board's columns, most useful first: without --columns, those that fit are shown in order.
BOARD_COLUMNS: dict[str, Callable[[Row], str]] = {
    "run_id": lambda row: str(row["run_id"]),
    "family": _tag("selected_family"),
    "auroc": _number("auroc_corrected"),  # validated (optimism-corrected)
    "ci": _interval("auroc_corrected"),
    "brier": _number("brier_corrected"),
    "cal_slope": _number("calibration_slope_corrected", 2),
    "promoted": _tag("promoted"),
    "version": _tag("registered_version"),
    "started": _started,
    "apparent": _number("auroc_apparent"),
    "method": _tag("validation.method"),
}
COLUMNS_HELP = (
    "Comma-separated columns of the table, in order, from: " + ", ".join(BOARD_COLUMNS)
    + " (auroc and ci: validated AUROC and its 95% CI; apparent: on the training data). "
    "Default: as many as fit the terminal, in that order."
)


def parse_columns(text: str | None) -> list[str] | None:
    """``--columns``: the chosen names in order (None: fit the terminal); unknown names raise
    ``ValueError`` naming the known ones."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in BOARD_COLUMNS]
    if unknown or not names:
        raise ValueError(f"unknown column(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from: {', '.join(BOARD_COLUMNS)}")
    return names


def print_leaderboard(console: Console, frame: pd.DataFrame, chosen: Sequence[str] | None) -> None:
    """The runs as a table of the ``chosen`` columns, or of as many of :data:`BOARD_COLUMNS` as
    fit the console's width, naming those left out. A value is never cut short (a run id cut
    is no use): columns the user chose are shown whole, wider than the terminal if need be."""
    names = list(chosen or BOARD_COLUMNS)
    table = _board(frame, names)
    terminal = console.width
    while chosen is None and len(names) > 1 and _width(console, table) > terminal:
        names.pop()
        table = _board(frame, names)
    console.width = max(terminal, _width(console, table))  # print() would cut it to the width
    console.print(table)
    console.width = terminal
    hidden = [name for name in BOARD_COLUMNS if name not in names]
    if chosen is None and hidden:
        console.print(f"not shown, for the terminal's width ({terminal}): "
                      f"{', '.join(hidden)}; choose with --columns")


def _board(frame: pd.DataFrame, names: Sequence[str]) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in names:
        table.add_column(name, no_wrap=True, justify="left" if name == "run_id" else "right")
    for _, row in frame.iterrows():
        table.add_row(*(BOARD_COLUMNS[name](row) for name in names))
    return table


def _width(console: Console, table: Table) -> int:
    from rich.measure import Measurement

    unbounded = console.options.update_width(10_000)  # measured against the console, not capped
    return Measurement.get(console, unbounded, table).maximum


def _shown(value: object, digits: int = 3) -> str:
    """A metric with ``digits`` decimals, a tag as given; missing (None, NaN) as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)
