"""When a model gives no number: patients outside its population, or with too little recorded.

Both are refusals of the whole request (a 422 from the API, a marked row from ``predict``), with
one problem per field, in the data contract's shape (:class:`features.validation.Problem`), so
every front end shows them beside the fields like any other broken rule:

* **out of scope**: a recorded value outside the population the bundle carries
  (:class:`features.scope.Population`, from the experiment);
* **not enough information**: a field the experiment marks ``required`` is blank, or the blank
  fields leave the probability's range (:mod:`models.missing_range`) wider than the
  experiment's ``max_range_width``. Each field to record is one problem, ``"needed for a
  prediction"``: required fields first, then the others, most informative first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ssc_response.features.columns import numeric_block, text_block
from ssc_response.features.scope import NEEDED_RULE, Population
from ssc_response.features.validation import Problem
from ssc_response.models.input_checks import is_text_field

if TYPE_CHECKING:
    from ssc_response.models.bundle import ResponseModel


def population(model: ResponseModel) -> Population:
    """The population rules the bundle carries (none for bundles made before them)."""
    return Population.from_json(model.metadata.get("population"))


def out_of_scope(model: ResponseModel, records: pd.DataFrame) -> list[list[Problem]]:
    """Per record, the population rules its recorded values break."""
    return population(model).problems(records)


def not_enough_information(model: ResponseModel, records: pd.DataFrame,
                           outputs: Sequence[Mapping[str, Any]]) -> list[list[Problem]]:
    """Per record, the fields to record before a number is given (empty: the answer stands)."""
    required = [str(n) for n in model.metadata.get("required_fields", [])]
    blank_required = _blank(records, outputs, required)
    limit = float(model.metadata.get("max_missing_range_width", 1.0))
    found: list[list[Problem]] = []
    for i, output in enumerate(outputs):
        fields = list(blank_required[i])
        spread = output.get("missing_data")
        if fields or (spread is not None and spread["upper"] - spread["lower"] > limit):
            ranked = [] if spread is None else [f["field"] for f in spread["fields_to_record"]]
            fields += [f for f in ranked if f not in fields]
        found.append([Problem(i + 1, name, None, NEEDED_RULE) for name in fields])
    return found


def _blank(records: pd.DataFrame, outputs: Sequence[Mapping[str, Any]],
           names: Sequence[str]) -> list[list[str]]:
    """Per record, which of ``names`` are blank (a reported index, e.g. the mRSS total filled
    from its 17 sites, counts as recorded)."""
    blank: list[list[str]] = [[] for _ in range(len(records))]
    for name in names:
        column = (text_block(records, [name]) if is_text_field(name)
                  else numeric_block(records, [name]))[:, 0]
        for i in np.flatnonzero(pd.isna(column)).tolist():  # only the blank cells
            if outputs[i].get("indices", {}).get(name) is None:
                blank[i].append(name)
    return blank
