"""Canonical JSON and entry hashes stay byte-identical to the format existing chains were made with.

The reference is the original definition, ``json.dumps(value, sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False)``; the golden literals below were produced by it before the
encoder was changed, so they pin the stored and hashed bytes independently of today's code.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssc_response.serving.audit import canonical_json, compute_entry_hash
from tests.serving.audit.support import reference_hash, reference_json

# Text as it may reach the store: any code point, lone surrogates included, plus the characters
# that JSON encoders are known to treat differently (line separators, DEL, '/', controls).
CHARACTERS = (
    st.characters()
    | st.characters(categories=["Cs"])
    | st.sampled_from("\u2028\u2029\x00\x1f\x7f\"\\/\n\té😀")
)
TEXT = st.text(CHARACTERS, max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)  # beyond 64 bits too
    | st.floats(allow_nan=False, allow_infinity=False)  # -0.0, subnormals, 1e+308, ...
    | TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(TEXT, children, max_size=6),
    max_leaves=40,
)

# Written by the original implementation; an existing database holds bytes like these.
GOLDEN_VALUE = {
    "é": [1, -0.0, 1e-07, 1e16, 0.1 + 0.2, 2**70, True, None],
    "a\u2028": 'tab\t nul\x00 "q" \\ 😀',
    "Z": {"": 3.2e-05},
}
GOLDEN_JSON = (
    '{"Z":{"":3.2e-05},"a\u2028":"tab\\t nul\\u0000 \\"q\\" \\\\ 😀",'
    '"é":[1,-0.0,1e-07,1e+16,0.30000000000000004,1180591620717411303424,true,null]}'
)
GOLDEN_ROW = {
    "seq": 42,
    "prediction_id": "3f2b8c4e-1d2a-4b5c-8d9e-0a1b2c3d4e5f",
    "created_at": "2025-11-25T10:52:00.123456+00:00",
    "key_id": "0123456789abcdef",
    "patient_id": "SSC-é\u2028",
    "model_name": "ssc-skin-response",
    "model_version": "3",
    "model_run_id": None,
    "input_json": GOLDEN_JSON,
    "output_json": '{"p":0.62}',
    "explanation_json": "null",
    "prev_hash": "a" * 64,
}
GOLDEN_HASH = "192df982be51f531084b3f61219e0259f4d6f4a3788eeb1ebd3299b027834e39"


def test_golden_bytes_and_hash_are_unchanged() -> None:
    assert canonical_json(GOLDEN_VALUE) == GOLDEN_JSON
    assert compute_entry_hash(GOLDEN_ROW) == GOLDEN_HASH


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES)
def test_canonical_json_matches_the_original_for_any_value(value: Any) -> None:
    assert canonical_json(value) == reference_json(value)


EDGE_CASES = {
    "tiny float": 1e-07,
    "exponent float": 1e16,
    "small float in exponent form": 3.2e-05,
    "shap-sized float": 7.395570986446986e-32,
    "negative zero": -0.0,
    "inexact sum": 0.1 + 0.2,
    "smallest subnormal": 5e-324,
    "largest float": 1.7976931348623157e308,
    "integral float": 1e15,
    "int beyond 64 bits": 2**64,
    "negative int beyond 64 bits": -(2**70),
    "bool is not int": [True, False, 1, 0],
    "line separators": "\u2028\u2029",
    "controls and DEL": "".join(map(chr, range(32))) + "\x7f",
    "emoji and accents": "😀 é ß 中",
    "lone surrogate": "\ud800x\udfff",
    "non-ASCII key order": {"é": 1, "e": 2, "z": 3, "É": 4, "😀": 5, "\uffff": 6, "": 7},
    "tuple as list": (1, (2.5, "x")),
    "empty containers": {"a": [], "b": {}, "c": ""},
}


@pytest.mark.parametrize("value", EDGE_CASES.values(), ids=EDGE_CASES)
def test_canonical_json_matches_the_original_on_edge_cases(value: Any) -> None:
    assert canonical_json(value) == reference_json(value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_infinity_are_refused_even_when_nested(bad: float) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"a": [1, {"b": bad}]})


def test_a_circular_value_is_refused() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)

    with pytest.raises(ValueError, match="(?i)circular"):
        canonical_json({"a": cycle})


def test_values_that_are_not_json_are_refused() -> None:
    with pytest.raises(TypeError):
        canonical_json({"a": b"bytes"})


ROW_TEXT = st.text(max_size=20)  # what a stored row can hold: valid UTF-8 text


@settings(max_examples=200, deadline=None)
@given(
    value=JSON_VALUES,
    seq=st.integers(min_value=1, max_value=2**62),
    strings=st.lists(ROW_TEXT, min_size=6, max_size=6),
    optional=st.lists(st.none() | ROW_TEXT, min_size=3, max_size=3),
)
def test_entry_hash_matches_the_original(
    value: Any, seq: int, strings: list[str], optional: list[str | None]
) -> None:
    try:
        value_json = reference_json(value)
        value_json.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot be stored; nothing to compare
        return
    prediction_id, created_at, model_name, model_version, prev_hash, output = strings
    key_id, patient_id, model_run_id = optional
    row = {
        "seq": seq, "prediction_id": prediction_id, "created_at": created_at, "key_id": key_id,
        "patient_id": patient_id, "model_name": model_name, "model_version": model_version,
        "model_run_id": model_run_id, "input_json": value_json,
        "output_json": reference_json(output), "explanation_json": canonical_json(value),
        "prev_hash": prev_hash,
    }

    assert compute_entry_hash(row) == reference_hash(row)
