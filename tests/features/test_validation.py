"""The data contract: one record (API path) and whole cohorts (file path) follow the same rules."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest

from ssc_response.features.schema import MRSS_SITE_FIELDS, REQUIRED_FIELDS, fields
from ssc_response.features.validation import (
    UNKNOWN_FIELD_RULE,
    ContractError,
    Problem,
    validate_frame,
    validate_record,
    validate_records,
)
from tests.factories import make_followup, make_patient

pytestmark = pytest.mark.contract  # the data contract: dictionary, rules, files


def problems_of(record: dict[str, object]) -> list[Problem]:
    with pytest.raises(ContractError) as caught:
        validate_record(record)
    return caught.value.problems


def only_problem(record: dict[str, object]) -> Problem:
    problems = problems_of(record)
    assert len(problems) == 1, problems
    return problems[0]


def without(record: dict[str, object], *names: str) -> dict[str, object]:
    return {k: v for k, v in record.items() if k not in names}


def frame_of(*records: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(list(records))


# --- Problem and ContractError ---------------------------------------------------------------


def test_problem_reads_as_row_field_value_rule() -> None:
    problem = Problem(3, "age_years", "12", "must be between 18 and 90 years")
    assert str(problem) == "row 3, field 'age_years', value '12': must be between 18 and 90 years"


def test_problem_without_row_or_value_leaves_them_out() -> None:
    assert str(Problem(None, "sex", None, "required field is missing")) == (
        "field 'sex': required field is missing"
    )


def test_contract_error_lists_every_problem_and_survives_pickling() -> None:
    problems = [Problem(1, "sex", "X", "must be one of: F, M"), Problem(2, "pah", "?", "bad")]
    error = ContractError(problems)
    assert isinstance(error, ValueError)
    assert all(str(p) in str(error) for p in problems)
    assert pickle.loads(pickle.dumps(error)).problems == problems


# --- valid records ---------------------------------------------------------------------------


def test_factory_records_cover_the_dictionary_and_are_valid() -> None:
    record = {**make_patient(), **make_followup()}
    assert set(record) == set(fields())
    assert validate_record(record) == record


def test_record_comes_back_in_dictionary_order_with_python_types() -> None:
    record = make_patient(age_years="45", mrss_face="1", pah="yes", sex=" F ")
    result = validate_record(dict(reversed(record.items())))
    assert list(result) == [name for name in fields() if name in record]
    picked = (result["age_years"], result["mrss_face"], result["pah"], result["sex"])
    assert picked == (45.0, 1, True, "F")
    assert [type(result[n]) for n in ("age_years", "mrss_total", "pah")] == [float, int, bool]


@pytest.mark.parametrize("blank", [None, math.nan, "", "   ", pd.NA, np.nan])
def test_missing_optional_values_come_back_as_none(blank: object) -> None:
    result = validate_record(make_patient(crp_mg_l=blank, pah=blank, nvc_pattern=blank))
    assert result == make_patient(crp_mg_l=None, pah=None, nvc_pattern=None)


@pytest.mark.parametrize("given", [3, 3.0, "3", " 3 ", "3.0", np.int64(3)])
def test_integer_accepts_whole_numbers_however_written(given: object) -> None:
    result = validate_record(make_patient(prior_immunosuppressants=given))
    assert result["prior_immunosuppressants"] == 3


BOOLEAN_SPELLINGS = [
    (True, True), (False, False), ("true", True), ("FALSE", False), ("Yes", True), ("no", False),
    ("1", True), ("0", False), (1, True), (0, False), (1.0, True), (np.bool_(True), True),
]


@pytest.mark.parametrize(("given", "expected"), BOOLEAN_SPELLINGS)
def test_boolean_accepts_the_documented_spellings(given: object, expected: bool) -> None:
    assert validate_record(make_patient(pah=given))["pah"] is expected


def test_followup_fields_are_validated_like_baseline_fields() -> None:
    problem = only_problem({**make_patient(), **make_followup(mrss_total_followup=60)})
    assert problem.field == "mrss_total_followup"
    assert problem.rule == "must be between 0 and 51 points"


# --- one rule at a time ----------------------------------------------------------------------

BAD_VALUES = [
    ("age_years", "12", "must be between 18 and 90 years"),
    ("age_years", 90.5, "must be between 18 and 90 years"),
    ("age_years", "abc", "must be a finite number (years)"),
    ("crp_mg_l", "inf", "must be a finite number (mg/L)"),
    ("crp_mg_l", "NA", "must be a finite number (mg/L)"),
    ("crp_mg_l", -1, "must be between 0 and 300 mg/L"),
    ("prior_immunosuppressants", 3.5, "must be a whole number (agents)"),
    ("prior_immunosuppressants", "3.5", "must be a whole number (agents)"),
    ("mrss_face", 4, "must be between 0 and 3 points"),
    ("pah", "maybe", "must be true or false (accepted: true/false, yes/no, 1/0)"),
    ("pah", 2, "must be true or false (accepted: true/false, yes/no, 1/0)"),
    ("sex", "female", "must be one of: F, M"),
    ("sex", "f", "must be one of: F, M"),
    ("cell_product", "msc", f"must be one of: {', '.join(fields()['cell_product'].allowed)}"),
    ("patient_id", "x" * 65, "must be at most 64 characters"),
    ("unexpected", 1, UNKNOWN_FIELD_RULE),
]


@pytest.mark.parametrize(("name", "value", "rule"), BAD_VALUES)
def test_each_bad_value_is_named_with_its_rule(name: str, value: object, rule: str) -> None:
    problem = only_problem(make_patient(**{name: value}))
    assert (problem.row, problem.field, problem.rule) == (None, name, rule)


@pytest.mark.parametrize("given", ["Jane Doe", "P/1", "é1", "P1;"])
def test_patient_id_refuses_spaces_and_other_characters(given: str) -> None:
    problem = only_problem(make_patient(patient_id=given))
    assert problem.field == "patient_id"
    assert "no spaces" in problem.rule and "never a name" in problem.rule


def test_range_limits_are_inclusive() -> None:
    assert validate_record(make_patient(age_years=18, disease_duration_months=600))


@pytest.mark.parametrize("name", REQUIRED_FIELDS)
def test_required_field_absent(name: str) -> None:
    problem = only_problem(without(make_patient(), name))
    assert (problem.field, problem.value, problem.rule) == (name, None, "required field is missing")


@pytest.mark.parametrize("name", REQUIRED_FIELDS)
def test_required_field_blank(name: str) -> None:
    problem = only_problem(make_patient(**{name: "  "}))
    assert (problem.field, problem.rule) == (name, "required field has no value")


def test_all_problems_of_a_record_are_collected() -> None:
    record = make_patient(age_years=12, sex="X", pah="maybe", mrss_face=9, unexpected=1)
    problems = problems_of(without(record, "disease_duration_months"))
    named = ["unexpected", "age_years", "sex", "disease_duration_months", "mrss_face", "pah"]
    assert [p.field for p in problems] == named


# --- mRSS: the total or all 17 sites ---------------------------------------------------------


def test_site_scores_alone_are_enough() -> None:
    result = validate_record(without(make_patient(), "mrss_total"))
    assert "mrss_total" not in result and result["mrss_face"] == 1


def test_total_alone_is_enough() -> None:
    assert validate_record(without(make_patient(), *MRSS_SITE_FIELDS))["mrss_total"] == 22


def test_partial_sites_with_a_total_are_allowed_without_a_sum_check() -> None:
    assert validate_record(make_patient(mrss_face=None, mrss_total=40))["mrss_total"] == 40


def test_partial_sites_without_a_total_name_the_missing_sites() -> None:
    record = without(make_patient(), "mrss_total", "mrss_face", "mrss_feet_l")
    problem = only_problem(record)
    assert problem.field == "mrss_total"
    assert problem.rule.endswith("missing site scores: mrss_face, mrss_feet_l")


def test_no_skin_score_at_all() -> None:
    problem = only_problem(without(make_patient(), "mrss_total", *MRSS_SITE_FIELDS))
    assert problem.rule == "required: give mrss_total or all 17 mRSS site scores"


def test_total_must_equal_the_sum_of_the_sites() -> None:
    problem = only_problem(make_patient(mrss_total=30))
    assert (problem.field, problem.value) == ("mrss_total", 30)
    assert problem.rule == "must equal the sum of the 17 mRSS site scores (22)"


def test_an_invalid_site_is_reported_once_not_again_as_a_sum_mismatch() -> None:
    problem = only_problem(make_patient(mrss_face="x", mrss_total=22))
    assert problem.field == "mrss_face"


# --- whole cohorts ---------------------------------------------------------------------------


def test_frame_comes_back_typed_in_dictionary_order() -> None:
    records = [{**make_patient(patient_id=f"P{i}"), **make_followup()} for i in range(3)]
    raw = frame_of(*records).astype(str).iloc[:, ::-1]  # text, as read from a CSV, reversed
    typed = validate_frame(raw)
    assert list(typed.columns) == list(fields())
    expected = {"float": "float64", "integer": "Int64", "boolean": "boolean"}
    for name, field in fields().items():
        want = expected.get(field.type, pd.StringDtype())
        assert typed[name].dtype == want, name


def test_validating_a_typed_frame_changes_nothing() -> None:
    typed = validate_frame(frame_of(make_patient(patient_id="A"), make_patient(patient_id="B")))
    pd.testing.assert_frame_equal(validate_frame(typed), typed)


def test_frame_keeps_missing_values_as_na() -> None:
    typed = validate_frame(frame_of(make_patient(crp_mg_l="", pah="", fibrosis_grade="", sex="F")))
    assert math.isnan(typed.loc[0, "crp_mg_l"])
    assert typed.loc[0, "pah"] is pd.NA and typed.loc[0, "fibrosis_grade"] is pd.NA


def test_frame_keeps_its_index_and_is_not_modified() -> None:
    raw = frame_of(make_patient(patient_id="A"), make_patient(patient_id="B")).set_axis([7, 7])
    before = raw.copy()
    assert list(validate_frame(raw).index) == [7, 7]
    pd.testing.assert_frame_equal(raw, before)


def test_rows_are_numbered_from_one_whatever_the_index() -> None:
    raw = frame_of(make_patient(patient_id="A"), make_patient(patient_id="B", age_years=12))
    with pytest.raises(ContractError) as caught:
        validate_frame(raw.set_axis([100, 200]))
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "age_years")]


def test_a_file_with_many_problems_lists_them_all_in_row_order() -> None:
    raw = frame_of(
        make_patient(patient_id="A", sex="X"),
        make_patient(patient_id="B"),
        make_patient(patient_id="C", age_years="old", pah="maybe"),
        make_patient(patient_id="D", mrss_total=50),
    )
    with pytest.raises(ContractError) as caught:
        validate_frame(raw.assign(extra=1))
    found = [(p.row, p.field) for p in caught.value.problems]
    assert found == [(None, "extra"), (1, "sex"), (3, "age_years"), (3, "pah"), (4, "mrss_total")]
    assert "row 3, field 'age_years', value 'old': must be a finite number" in str(caught.value)


def test_model_dtypes_hold_the_typed_values_as_floats_and_objects() -> None:
    """The frame the feature pipeline reads: the same values, float64 (booleans 1/0) and object
    (text), NaN wherever missing."""
    records = [make_patient(), make_patient(patient_id="P2", pah=None, crp_mg_l=None, esr_mm_h=None,
                                            nvc_pattern=None)]
    typed = validate_records(records)
    floats = validate_records(records, model_dtypes=True)
    assert list(floats.columns) == list(typed.columns)
    for name in typed.columns:
        text = fields()[name].type in ("category", "string")
        assert floats[name].dtype == (object if text else np.float64), name
        expected = typed[name].astype(object if text else "Float64")
        expected = expected.to_numpy(dtype=object if text else float,
                                     na_value=np.nan)
        assert [str(v) for v in floats[name]] == [str(v) for v in expected], name


def test_ids_are_unique_within_each_id_group_and_rows_count_across_the_batch() -> None:
    """Requests of a served batch: "A" in two groups is no duplicate, "A" twice in one is."""
    records = [make_patient(patient_id=pid) for pid in ["A", "A", "A"]]
    with pytest.raises(ContractError) as caught:
        validate_records(records, id_groups=[1, 2])
    found = {(p.row, p.rule) for p in caught.value.problems}
    assert found == {(2, "must be unique in the request; also in row 3"),
                     (3, "must be unique in the request; also in row 2")}
    assert len(validate_records(records, id_groups=[1, 1, 1])) == 3
    with pytest.raises(ValueError, match="add up"):
        validate_records(records, id_groups=[1, 1])


def test_duplicate_ids_name_every_row_with_that_id() -> None:
    raw = frame_of(*(make_patient(patient_id=pid) for pid in ["A", "B", "A", "C", "A", "B"]))
    with pytest.raises(ContractError) as caught:
        validate_frame(raw)
    found = {(p.row, p.value, p.rule) for p in caught.value.problems}
    assert found == {
        (1, "A", "must be unique in the file; also in rows 3, 5"),
        (3, "A", "must be unique in the file; also in rows 1, 5"),
        (5, "A", "must be unique in the file; also in rows 1, 3"),
        (2, "B", "must be unique in the file; also in row 6"),
        (6, "B", "must be unique in the file; also in row 2"),
    }


def test_absent_columns_are_reported_once_not_per_row() -> None:
    raw = frame_of(*(make_patient(patient_id=f"P{i}") for i in range(50))).drop(columns="sex")
    with pytest.raises(ContractError) as caught:
        validate_frame(raw.drop(columns=["mrss_total", *MRSS_SITE_FIELDS]))
    found = [(p.row, p.field) for p in caught.value.problems]
    assert found == [(None, "sex"), (None, "mrss_total")]


def test_a_column_given_twice_is_refused() -> None:
    raw = pd.concat([frame_of(make_patient()), frame_of(make_patient())[["sex"]]], axis=1)
    with pytest.raises(ContractError, match="field 'sex': field given more than once"):
        validate_frame(raw)


def test_an_empty_cohort_with_the_required_columns_is_valid() -> None:
    empty = frame_of(make_patient()).iloc[0:0]
    assert validate_frame(empty).empty


@pytest.mark.parametrize(("name", "value", "rule"), BAD_VALUES)
def test_record_and_frame_paths_agree(name: str, value: object, rule: str) -> None:
    record = make_patient(**{name: value})
    with pytest.raises(ContractError) as caught:
        validate_frame(frame_of(make_patient(patient_id="OK"), record))
    from_frame = [(p.field, p.value, p.rule) for p in caught.value.problems]
    assert from_frame == [(p.field, p.value, p.rule) for p in problems_of(record)]


@pytest.mark.slow  # a timing on 100,000 rows
def test_a_hundred_thousand_rows_validate_column_wise() -> None:
    """Sanity check of the vectorised path (no timing assertion; a per-row loop would crawl)."""
    n = 100_000
    raw = frame_of(make_patient()).astype(str).iloc[np.zeros(n, dtype=int)]
    raw = raw.assign(patient_id=[f"P{i}" for i in range(n)])
    raw.iloc[n - 1, raw.columns.get_loc("age_years")] = "150"
    with pytest.raises(ContractError) as caught:
        validate_frame(raw)
    assert [(p.row, p.field) for p in caught.value.problems] == [(n, "age_years")]


# --- batches of API records ------------------------------------------------------------------


def batch_problems(records: list[dict[str, object]]) -> list[Problem]:
    with pytest.raises(ContractError) as caught:
        validate_records(records)
    return caught.value.problems


def test_a_batch_comes_back_as_the_frame_of_its_records() -> None:
    records = [{**make_patient(patient_id=f"P{i}"), **make_followup()} for i in range(3)]
    pd.testing.assert_frame_equal(validate_records(records), validate_frame(frame_of(*records)))


def test_a_batch_of_one_agrees_with_the_single_record() -> None:
    record = make_patient(age_years="45", pah="yes", sex=" F ", crp_mg_l="")
    typed = validate_records([record])
    assert list(typed.index) == [0]
    assert {k: (None if pd.isna(v) else v) for k, v in typed.iloc[0].items()} == (
        validate_record(record)
    )


def test_batch_problems_are_numbered_by_record_from_one() -> None:
    records = [
        make_patient(patient_id="A"),
        make_patient(patient_id="B", age_years=12),
        make_patient(patient_id="A"),
    ]
    found = [(p.row, p.field, p.value) for p in batch_problems(records)]
    assert found == [(1, "patient_id", "A"), (2, "age_years", 12), (3, "patient_id", "A")]


def test_a_field_absent_from_some_records_is_missing_in_those() -> None:
    records = [make_patient(patient_id="A"), without(make_patient(patient_id="B"), "crp_mg_l")]
    assert validate_records(records)["crp_mg_l"].isna().tolist() == [False, True]
    records = [make_patient(patient_id="A"), without(make_patient(patient_id="B"), "sex")]
    problem = batch_problems(records)[0]
    assert (problem.row, problem.field, problem.rule) == (2, "sex", "required field has no value")


def test_an_empty_batch_lacks_the_required_fields() -> None:
    assert [p.field for p in batch_problems([])] == [*REQUIRED_FIELDS, "mrss_total"]


def test_an_unknown_field_is_reported_in_each_record_that_has_it() -> None:
    """A record is an object of its own: the caller must learn which one to fix (issue 24)."""
    records = [make_patient(patient_id="A"), make_patient(patient_id="B"),
               make_patient(patient_id="C", shoe_size=42)]
    found = [(p.row, p.field) for p in batch_problems(records)]
    assert found == [(3, "shoe_size")]
    records[0]["shoe_size"] = 41
    assert [(p.row, p.field) for p in batch_problems(records)] == [(1, "shoe_size"),
                                                                   (3, "shoe_size")]


def test_a_followup_field_in_a_prediction_is_reported_in_its_record() -> None:
    records = [make_patient(patient_id="A"), make_patient(patient_id="B", haq_di_followup=1.0)]
    with pytest.raises(ContractError) as caught:
        validate_records(records, outcomes=False)
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "haq_di_followup")]


def test_duplicate_ids_in_records_are_unique_in_the_request() -> None:
    records = [make_patient(patient_id="A"), make_patient(patient_id="A")]
    rules = [p.rule for p in batch_problems(records)]
    assert rules == ["must be unique in the request; also in row 2",
                     "must be unique in the request; also in row 1"]


# (given, suggested): one close name is suggested; none, or two equally close, give no guess.
SUGGESTIONS = [
    ("agee_years", "age_years"),
    ("Age_years", "age_years"),
    ("patientid", "patient_id"),
    ("mrss_face_x", "mrss_face"),
    ("shoe_size", None),
    ("mrss_fingers", None),  # mrss_fingers_r and mrss_fingers_l are equally close
]


@pytest.mark.parametrize(("given", "suggested"), SUGGESTIONS)
def test_a_misspelled_field_gets_a_suggestion(given: str, suggested: str | None) -> None:
    problem = batch_problems([make_patient(**{given: 1})])[0]
    assert problem.rule.startswith(UNKNOWN_FIELD_RULE)
    hint = f"; did you mean `{suggested}`?"
    assert problem.rule == (UNKNOWN_FIELD_RULE if suggested is None else UNKNOWN_FIELD_RULE + hint)


def test_a_prediction_is_never_pointed_to_a_followup_field() -> None:
    record = make_patient(haq_di_folowup=1.0)  # close to haq_di_followup, refused in predictions
    with pytest.raises(ContractError) as caught:
        validate_records([record], outcomes=False)
    assert [p.rule for p in caught.value.problems] == [UNKNOWN_FIELD_RULE]
    assert "`haq_di_followup`" in batch_problems([record])[0].rule  # a research file may have it


@pytest.mark.parametrize(("name", "value", "rule"), BAD_VALUES)
def test_record_and_batch_paths_agree(name: str, value: object, rule: str) -> None:
    record = make_patient(**{name: value})
    problems = batch_problems([make_patient(patient_id="OK"), record])
    assert {p.row for p in problems} <= {None, 2}  # an unknown field: row 2, its record
    assert [(p.field, p.value, p.rule) for p in problems] == [
        (p.field, p.value, p.rule) for p in problems_of(record)
    ]


# --- each value is read on its own -----------------------------------------------------------

MANY = 20  # enough rows for large-input shortcuts (each distinct value read once) to apply


def validate_frame_problems(frame: pd.DataFrame) -> list[Problem]:
    with pytest.raises(ContractError) as caught:
        validate_frame(frame)
    return caught.value.problems


def test_a_value_is_read_the_same_whatever_else_is_in_its_column() -> None:
    ids: list[object] = [1, 1.0, True, *(f"P{i}" for i in range(MANY))]
    flags: list[object] = [1.0, True, "no", 0, " yes ", *([False] * MANY)][: len(ids)]
    records = [make_patient(patient_id=i, pah=flag) for i, flag in zip(ids, flags, strict=True)]
    for typed in (validate_records(records), validate_frame(frame_of(*records))):
        assert typed["patient_id"].tolist()[:3] == ["1", "1.0", "True"]
        assert typed["pah"].tolist()[:5] == [True, True, False, False, True]
    assert [validate_record(r)["pah"] for r in records[:5]] == [True, True, False, False, True]


def test_a_boolean_is_not_taken_for_a_number_even_among_numbers() -> None:
    given = [1, True] * (MANY // 2)
    records = [
        make_patient(patient_id=f"P{i}", prior_immunosuppressants=v) for i, v in enumerate(given)
    ]
    for problems in (batch_problems(records), validate_frame_problems(frame_of(*records))):
        assert [p.row for p in problems] == list(range(2, MANY + 1, 2))
        assert {p.rule for p in problems} == {"must be a whole number (agents)"}


def test_repeated_text_values_of_a_large_file_are_each_judged() -> None:
    given = [" 3 ", "3", "3.0", "x", "", "3"] * 5
    raw = frame_of(*(make_patient(patient_id=f"P{i}") for i in range(len(given)))).astype(str)
    problems = validate_frame_problems(raw.assign(prior_immunosuppressants=given))
    assert [(p.row, p.value) for p in problems] == [(r, "x") for r in (4, 10, 16, 22, 28)]
    fixed = [g.replace("x", "2") for g in given]
    typed = validate_frame(raw.assign(prior_immunosuppressants=fixed))
    assert typed["prior_immunosuppressants"].tolist()[:6] == [3, 3, 3, 2, pd.NA, 3]


def test_a_typed_frame_of_python_objects_validates_to_the_same_frame() -> None:
    records = [make_patient(patient_id=f"P{i}", crp_mg_l=None, pah=None) for i in range(MANY)]
    typed = validate_frame(frame_of(*records))
    pd.testing.assert_frame_equal(validate_frame(typed.astype(object)), typed)


@pytest.mark.parametrize("name, value", [
    ("age_years", 10**400), ("age_years", -(10**400)), ("prior_immunosuppressants", 10**400),
])
def test_an_integer_beyond_float64_is_a_problem_of_its_field(name: str, value: int) -> None:
    # float(10**400) raises OverflowError; it must come back as the field's rule, not a crash.
    with pytest.raises(ContractError) as caught:
        validate_records([make_patient(**{name: value})])
    assert [problem.field for problem in caught.value.problems] == [name]
