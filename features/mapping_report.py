"""What a centre's mapping did to a file's columns, in lines a person reads (``check``)."""

from __future__ import annotations

from collections.abc import Sequence

from ssc_response.features.mapping import CentreMapping
from ssc_response.features.schema import fields
from ssc_response.features.units import conversion_factor


def applied_lines(mapping: CentreMapping, columns: Sequence[str]) -> list[str]:
    """The mapping's rules that met a column of the file, one per line."""
    present = set(columns)
    renamed = {source: target for source, target in mapping.columns.items() if source in present}
    fields_now = {renamed.get(name, name) for name in present}
    lines = [f"renamed {source!r} -> {target}" for source, target in renamed.items()]
    lines += [f"dropped {name!r}" for name in mapping.drop if name in present]
    for name, table in mapping.codes.items():
        if name in fields_now:
            pairs = ", ".join(f"{code!r} -> {value!r}" for code, value in table.items())
            lines.append(f"recoded {name}: {pairs}")
    for name, unit in mapping.units.items():
        if name in fields_now:
            factor = conversion_factor(name, unit)
            lines.append(f"converted {name} from {unit} to {fields()[name].unit} "
                         f"(x {factor:g})")
    for name, span in mapping.dates.items():
        lines.append(f"computed {name} as the months from {span.start!r} to {span.end!r}")
    return lines


def unmapped_lines(mapping: CentreMapping, columns: Sequence[str]) -> list[str]:
    """The file's columns that reach no dictionary field, and mapping rules that met no column."""
    known = fields()
    used_by_dates = {c for span in mapping.dates.values() for c in (span.start, span.end)}
    lines = []
    for name in columns:
        target = mapping.columns.get(name, name)
        if name in mapping.drop or name in used_by_dates or target in known:
            continue
        lines.append(f"column {name!r} maps to no field of the data dictionary")
    present = set(columns)
    lines += [f"the mapping renames {source!r}, which is not a column of the file"
              for source in mapping.columns if source not in present]
    return lines
