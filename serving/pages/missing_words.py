"""The range a patient's blank fields leave open, in a clinician's words (issue 19 §1).

Read from the API's ``missing_data`` (:class:`serving.schemas.MissingData`, computed by
:mod:`models.missing_range`): the probability's range over plausible values of the blank fields,
and those fields ranked by how much recording each would narrow it. The page says the same as
the API, with the data dictionary's labels instead of field names: "Because ESR and anti-Scl-70
were not recorded, the probability could be 41–77 %. Record ESR first."
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ssc_response.serving.pages.labels import label


@dataclass(frozen=True)
class BlankField:
    """One blank field the model reads, and how much its plausible values move the answer."""

    field: str  # the data dictionary's name
    label: str
    points: float  # SD of the probability it alone leaves open, in percentage points

    @property
    def moves(self) -> str:
        """'about 9 percentage points', 'about 1 percentage point', 'less than 1 ...'."""
        shown = round(self.points)
        if shown < 1:
            return "less than 1 percentage point"
        return f"about {shown} percentage point{'s' if shown != 1 else ''}"


@dataclass(frozen=True)
class MissingView:
    """What the result page says about the blank fields (``None`` when none is blank)."""

    sentence: str  # "Because ESR was not recorded, the probability could be 41–77 %."
    advice: str  # "Record ESR first: ..."
    fields: list[BlankField]  # most informative first
    draws: int


def missing_view(missing: Mapping[str, Any] | None) -> MissingView | None:
    """The API's ``missing_data`` (or ``None``) in words."""
    if not missing:
        return None
    blanks = [BlankField(str(item["field"]), label(str(item["field"])),
                         100 * float(item["narrows_by"]))
              for item in missing.get("fields_to_record", [])]
    names = [blank.label for blank in blanks]
    return MissingView(range_sentence(names, float(missing["lower"]), float(missing["upper"])),
                       advice(names), blanks, int(missing.get("draws", 0)))


def range_sentence(names: Sequence[str], lower: float, upper: float) -> str:
    """'Because ESR and anti-Scl-70 were not recorded, the probability could be 41–77 %.'"""
    verb = "was" if len(names) == 1 else "were"
    return (f"Because {listed(names)} {verb} not recorded, the probability could be "
            f"{100 * lower:.0f}–{100 * upper:.0f} %.")


def advice(names: Sequence[str]) -> str:
    """What to record first: the blank field whose value would narrow the answer most."""
    if not names:
        return ""
    if len(names) == 1:
        return f"Record {names[0]} to remove this uncertainty."
    return f"Record {names[0]} first: of the blank fields, it would narrow the answer most."


def listed(names: Sequence[str]) -> str:
    """'ESR', 'ESR and CRP', 'ESR, CRP and sex'."""
    if not names:
        return "some fields"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]
