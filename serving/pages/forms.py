"""The one-patient form, generated from the data dictionary, and its answers read back.

Every baseline field of the dictionary (and ``patient_id``) gets exactly one input whose ``name``
is the field name, placed in the section a clinician records it in. Which section is decided by
the field's dictionary ``group``; a group this module does not know fails loudly (``KeyError`` in
:func:`sections`), so a new group in the dictionary cannot silently drop fields from the form.
With the served model's fields (:func:`sections_for`), those come first, in their own section,
most important first and marked; every other field stays in its usual section. Categories show
their values in words, yes/no fields are radio buttons.
The form is never validated here: its answers go through the data contract
(:func:`serving.inference.validate_patients`) like any API record, and the contract's problems
are shown beside their fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache

from ssc_response.features.schema import (
    MRSS_SITE_FIELDS,
    REQUIRED_FIELDS,
    Field,
    baseline_fields,
    fields,
)
from ssc_response.features.validation import Problem
from ssc_response.serving.pages.labels import label, unit, value_words

# (section id, heading, dictionary groups in it); the mRSS fields have their own section.
SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("history", "Demographics and history", ("identity", "demographics", "disease", "treatment")),
    ("mrss", "Modified Rodnan skin score (17 sites, 0–3 each)", ()),
    ("activity", "Activity items", ("skin", "vascular", "musculoskeletal")),
    ("labs", "Laboratory values", ("labs",)),
    ("heart_lungs", "Lungs and heart", ("cardiopulmonary",)),
    ("quality_of_life", "Quality of life", ("function",)),
    ("biopsy", "Skin biopsy", ("histology",)),
)
_MRSS = frozenset(("mrss_total", *MRSS_SITE_FIELDS))


@dataclass(frozen=True)
class Input:
    """One form input: the field it fills and how to draw it."""

    name: str
    label: str
    unit: str
    kind: str  # "number", "choice" (categories), "yesno" (radio buttons) or "text"
    choices: tuple[tuple[str, str], ...]  # (submitted value, shown text); "" = not recorded
    hint: str
    required: bool
    used: bool = False  # read by the served model


@dataclass(frozen=True)
class Section:
    """A fieldset of the form."""

    id: str
    heading: str
    inputs: tuple[Input, ...]


@cache
def sections() -> tuple[Section, ...]:
    """The form's sections in order, every baseline field (and patient_id) in exactly one."""
    section_of = {group: sid for sid, _, groups in SECTIONS for group in groups}
    members: dict[str, list[Input]] = {sid: [] for sid, _, _ in SECTIONS}
    for name in ["patient_id", *baseline_fields()]:
        field = fields()[name]
        members["mrss" if name in _MRSS else section_of[field.group]].append(_input(field))
    return tuple(Section(sid, heading, tuple(members[sid])) for sid, heading, _ in SECTIONS)


USED_SECTION = ("model", "Fields this model reads, most important first")


@cache
def sections_for(model_fields: Sequence[str]) -> tuple[Section, ...]:
    """:func:`sections` with the model's fields (a tuple, most important first) moved to a
    first section and marked ``used``; fields the form does not have are ignored."""
    by_name = {item.name: item for section in sections() for item in section.inputs}
    chosen = [name for name in dict.fromkeys(model_fields) if name in by_name]
    first = Section(*USED_SECTION, tuple(replace(by_name[name], used=True) for name in chosen))
    rest = tuple(Section(s.id, s.heading, tuple(i for i in s.inputs if i.name not in chosen))
                 for s in sections())
    return (first, *rest) if chosen else sections()


def _input(field: Field) -> Input:
    required = field.name in REQUIRED_FIELDS
    if field.type == "boolean":
        return Input(field.name, label(field.name), "", "yesno",
                     (("", "not recorded"), ("yes", "yes"), ("no", "no")), "", required)
    if field.type == "category":
        words = value_words(field.name)
        choices = (("", "not recorded"), *((value, words[value]) for value in field.allowed))
        return Input(field.name, label(field.name), "", "choice", choices, "", required)
    kind = "number" if field.is_numeric else "text"
    return Input(field.name, label(field.name), unit(field.name), kind, (), _hint(field), required)


def _hint(field: Field) -> str:
    """The accepted range, in the field's unit."""
    if field.name == "mrss_total":
        return "0–51; leave empty to use the sum of the 17 sites"
    if field.name == "patient_id":
        return "letters, digits, '.', '_' or '-'; never a name"
    if field.min is None or field.max is None:
        return ""
    return f"{field.min:g}–{field.max:g}"


def form_names() -> list[str]:
    """Every input name of the form, in order."""
    return [item.name for section in sections() for item in section.inputs]


def record_from_form(form: Mapping[str, object]) -> dict[str, str]:
    """The answered fields as a record (text, as typed); empty answers are left out.

    Anything else the browser sent (the CSRF token, unknown names) is not part of the record.
    """
    answers = {name: form.get(name) for name in form_names()}
    return {name: value.strip() for name, value in answers.items()
            if isinstance(value, str) and value.strip()}


def messages_by_field(problems: list[Problem]) -> dict[str, list[str]]:
    """The contract's problems as plain sentences, by the field they concern."""
    messages: dict[str, list[str]] = {}
    for problem in problems:
        messages.setdefault(problem.field, []).append(sentence(problem))
    return messages


def sentence(problem: Problem) -> str:
    """'Age: must be between 18 and 90 years (you entered 150).' Field names and category codes
    in the rule are shown in words, so a new rule reads well without work here."""
    rule = in_words(_plain(problem.rule), problem.field)
    shown = value_words(problem.field).get(str(problem.value), problem.value)
    entered = ("" if problem.value in (None, "") or "you entered" in rule
               else f" (you entered {shown})")
    return f"{label(problem.field)}: {rule.rstrip('.')}{entered}."


def _choice(words: Mapping[str, str], code: str) -> str:
    """'female (F)': the words, and the code a file must contain when it differs."""
    text = words.get(code, code)
    return text if text == code else f"{text} ({code})"


_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def in_words(text: str, field: str | None = None) -> str:
    """Dictionary field names ('crp_mg_l') and the field's category codes ('ad_svf') in
    ``text`` replaced by their clinical words; 'one of: F, M' lists as words."""
    words = value_words(field) if field else {}
    if words:
        text = re.sub(r"one of: ([^()]*?)(?=$| \(|;)", lambda m: "one of: " + ", ".join(
            _choice(words, code.strip()) for code in m.group(1).split(",")), text)
        # Only codes that cannot be plain words ('ad_svf', not 'limited' or 'M') elsewhere.
        codes = [code for code in words if "_" in code]
        if codes:
            text = re.sub(r"\b(" + "|".join(map(re.escape, codes)) + r")\b",
                          lambda m: words[m.group(1)], text)

    def named(match: re.Match[str]) -> str:
        code = match.group(0)
        return label(code) if code in fields() else code

    return _CODE.sub(named, text)


def _plain(rule: str) -> str:
    """Rules name fields by their dictionary names; a form shows their labels instead."""
    if rule.startswith("required: give mrss_total or all 17"):
        missing = rule.partition("missing site scores: ")[2]
        sites = ", ".join(label(name).lower() for name in missing.split(", ") if name)
        return "give the mRSS total or all 17 site scores" + (f"; missing {sites}" if sites else "")
    return rule.replace("required field has no value", "required; please fill it in").replace(
        "required field is missing", "required; please fill it in")


@dataclass(frozen=True)
class ProblemRow:
    """One broken rule of a file, as the batch page's table shows it."""

    row: int | None
    field: str
    value: str
    rule: str


def problem_rows(problems: list[Problem]) -> list[ProblemRow]:
    """A file's problems with fields, values and rules in clinical words."""
    return [ProblemRow(p.row, label(p.field) if p.field in fields() else p.field,
                       "" if p.value is None else str(value_words(p.field).get(str(p.value),
                                                                              p.value)),
                       in_words(_plain(p.rule), p.field))
            for p in problems]
