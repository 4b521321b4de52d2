"""The data dictionary: the project's copy matches the shared one and parses completely."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssc_response.features import schema

pytestmark = pytest.mark.contract  # the data contract: dictionary, rules, files

SHARED_DICTIONARY = Path(__file__).resolve().parents[2] / ".." / "shared" / "data-dictionary.csv"
TYPES = {"string", "float", "integer", "boolean", "category"}
ROLES = {"id", "baseline", "outcome"}


@pytest.mark.skipif(not SHARED_DICTIONARY.exists(), reason="shared/ is not next to the project")
def test_copy_is_byte_identical_to_the_shared_dictionary() -> None:
    packaged = schema.dictionary_text().encode("utf-8")
    assert packaged == SHARED_DICTIONARY.read_bytes()


def test_every_row_parses() -> None:
    rows = schema.dictionary_text().splitlines()[1:]
    assert len(schema.fields()) == len(rows)


@pytest.mark.parametrize("field", schema.fields().values(), ids=lambda f: f.name)
def test_field_is_well_formed(field: schema.Field) -> None:
    assert field.type in TYPES
    assert field.role in ROLES
    assert bool(field.allowed) == (field.type == "category")
    if field.is_numeric:
        assert field.min is not None and field.max is not None and field.min < field.max


def test_mrss_site_fields_exist_as_integer_scores() -> None:
    for name in schema.MRSS_SITE_FIELDS:
        field = schema.fields()[name]
        assert (field.type, field.min, field.max) == ("integer", 0, 3)


def test_required_fields_exist() -> None:
    assert set(schema.REQUIRED_FIELDS) <= set(schema.fields())


def test_roles_split_baseline_from_outcome() -> None:
    assert schema.field_names("id") == ["patient_id"]
    assert not set(schema.baseline_fields()) & set(schema.field_names("outcome"))
