"""Clinical words for fields and category values: every allowed value of the dictionary has some."""

from __future__ import annotations

import pytest

from ssc_response.features.clinical_labels import value_label, value_words
from ssc_response.features.schema import fields

CATEGORIES = [name for name, field in fields().items() if field.type == "category"]


@pytest.mark.parametrize("name", CATEGORIES)
def test_every_allowed_value_has_words_without_codes(name: str) -> None:
    words = value_words(name)
    assert set(words) == set(fields()[name].allowed)
    assert all("_" not in text and text for text in words.values())


def test_cell_product_words_come_from_the_dictionary_description() -> None:
    """data_dictionary.csv: 'Cell product: autologous bone-marrow MSC; ...; adipose stromal
    vascular fraction', in the order of allowed."""
    assert value_label("cell_product", "auto_bm_msc") == "autologous bone-marrow MSC"
    assert value_label("cell_product", "ad_svf") == "adipose stromal vascular fraction"


def test_values_in_words() -> None:
    assert value_label("biopsy_site", "lower_leg") == "lower leg"
    assert value_label("anti_topo1", True) == "yes" and value_label("anti_topo1", False) == "no"
    assert value_label("esr_mm_h", None) == "not recorded"
    assert value_label("esr_mm_h", 24.0) == "24"
