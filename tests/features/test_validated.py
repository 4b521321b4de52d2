"""validate_record_columns: the rules of validate_records, its result as arrays instead of a frame.

Records are read one column per type where their values are plain (``_read_together``); the
frame path reads every column on its own, so comparing the two holds that shortcut to the rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from features.schema import fields
from features.validation import (
    ContractError,
    Problem,
    ValidatedRecords,
    validate_frame,
    validate_record_columns,
    validate_records,
)
from tests.factories import make_followup, make_patient
from tests.features.test_validation import BAD_VALUES, MANY, frame_of, without


def column_problems(records: list[dict[str, object]]) -> list[Problem]:
    with pytest.raises(ContractError) as caught:
        validate_record_columns(records)
    return caught.value.problems


def frame_problems(records: list[dict[str, object]]) -> list[Problem]:
    """The problems of the same records as a frame: each column read on its own."""
    with pytest.raises(ContractError) as caught:
        validate_frame(frame_of(*records).astype(object))
    return caught.value.problems


def varied(n: int) -> list[dict[str, object]]:
    """Records with gaps, absent fields, text numbers and every kind of field."""
    records = [{**make_patient(patient_id=f"P{i}"), **make_followup()} for i in range(n)]
    records[0] |= {"crp_mg_l": None, "sex": "M", "fibrosis_grade": None, "pah": "yes"}
    records[1 % n] = without(records[1 % n], "esr_mm_h", "cell_product", "mrss_total")
    records[-1] |= {"age_years": "61", "prior_immunosuppressants": 2.0, "delta_skin": 0}
    return records


# --- the arrays ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, MANY])
def test_the_arrays_are_the_frame_of_validate_records(n: int) -> None:
    records = varied(n)

    validated = validate_record_columns(records)

    assert isinstance(validated, ValidatedRecords) and len(validated) == n
    assert list(validated.columns) == [name for name in fields() if name in records[0]]
    pd.testing.assert_frame_equal(validated.to_frame(), validate_records(records))
    pd.testing.assert_frame_equal(validated.to_frame(), validate_frame(frame_of(*records)))


def test_numbers_are_float64_with_nan_and_text_is_str_with_none() -> None:
    validated = validate_record_columns(varied(3))

    for name, values in validated.columns.items():
        if fields()[name].type in ("category", "string"):
            assert values.dtype == object, name
            assert {type(v) for v in values} <= {str, type(None)}, name
        else:
            assert values.dtype == np.float64, name
    assert validated["crp_mg_l"][0] != validated["crp_mg_l"][0]  # NaN
    assert validated["cell_product"][1] is None and math.isnan(validated["mrss_total"][1])
    assert validated["sex"].tolist() == ["M", "F", "F"]
    assert validated["pah"].tolist() == [1.0, 0.0, 0.0]  # booleans as 1/0
    assert validated["age_years"][2] == 61.0 and validated["delta_skin"][2] == 0.0


def test_replaced_sets_one_column_and_keeps_the_others() -> None:
    validated = validate_record_columns(varied(2))
    ids = np.array(["X", "Y"], dtype=object)

    renamed = validated.replaced("patient_id", ids)

    assert renamed["patient_id"] is ids and validated["patient_id"].tolist() == ["P0", "P1"]
    assert renamed["age_years"] is validated["age_years"] and len(renamed) == 2
    with pytest.raises(KeyError):
        validated.replaced("lvef_pct_typo", ids)
    with pytest.raises(ValueError, match="3 values for 2 rows"):
        validated.replaced("patient_id", np.array(["A", "B", "C"], dtype=object))


def test_a_batch_without_fields_still_has_its_rows() -> None:
    validated = ValidatedRecords({}, 3)
    assert len(validated) == 3 and validated.to_frame().shape == (3, 0)


# --- the rules: those of the frame path ----------------------------------------------------


@pytest.mark.parametrize(("name", "value", "rule"), BAD_VALUES)
def test_a_bad_value_is_the_same_problem_as_in_validate_records(
    name: str, value: object, rule: str
) -> None:
    records = [make_patient(patient_id="OK"), make_patient(**{name: value})]

    problems = column_problems(records)

    assert rule in [p.rule for p in problems]
    with pytest.raises(ContractError) as caught:
        validate_records(records)
    assert problems == caught.value.problems
    assert problems == frame_problems(records)


MIXED: list[tuple[str, list[object]]] = [
    # one field of a type given as text, another kind of number, NaN, inf, or nothing at all
    ("age_years", ["61", 45.0, 70]),
    ("crp_mg_l", [float("nan"), float("inf"), None]),
    ("crp_mg_l", [np.float64(3.0), 2, 1.5]),
    ("prior_immunosuppressants", [10**400, 2, None]),  # beyond float64: not a plain number
    ("prior_immunosuppressants", [True, 2, 3.0]),
    ("prior_immunosuppressants", [2**60, 1, 0]),
    ("pah", [1, True, "no"]),
    ("pah", [np.bool_(True), False, None]),
    ("pah", [None, None, None]),
    ("mrss_face", ["1", 1, 1.0]),
]


def outcome(validate: Callable[[], pd.DataFrame]) -> object:
    """The typed frame, or the problems, or (for a crash) the exception's type and text."""
    try:
        return validate()
    except ContractError as error:
        return error.problems
    except Exception as error:  # compared, not hidden
        return type(error), str(error)


@pytest.mark.parametrize(("name", "given"), MIXED, ids=[f"{n}-{i}" for i, (n, _) in
                                                        enumerate(MIXED)])
def test_odd_values_among_plain_ones_are_read_as_on_their_own(
    name: str, given: list[object]
) -> None:
    """The other fields of the type stay plain (read together); this one must not change that."""
    records = [make_patient(patient_id=f"P{i}", **{name: v}) for i, v in enumerate(given)]

    got = outcome(lambda: validate_record_columns(records).to_frame())
    expected = outcome(lambda: validate_frame(frame_of(*records).astype(object)))

    if isinstance(expected, pd.DataFrame):
        assert isinstance(got, pd.DataFrame)
        pd.testing.assert_frame_equal(got, expected)
    else:
        assert got == expected


def test_many_rows_of_booleans_are_read_by_distinct_value_and_back() -> None:
    flags = [True, False, None, True] * 6
    records = [make_patient(patient_id=f"P{i}", pah=f, delta_skin=not f)
               for i, f in enumerate(flags)]

    validated = validate_record_columns(records)

    expected = [math.nan if f is None else float(f) for f in flags]
    np.testing.assert_array_equal(validated["pah"], expected)
    np.testing.assert_array_equal(validated["delta_skin"], [0.0 if f else 1.0 for f in flags])
    pd.testing.assert_frame_equal(validated.to_frame(), validate_frame(frame_of(*records)))
