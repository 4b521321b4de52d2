"""The model card's heading reads right before and after the model is registered (issue 24)."""

from __future__ import annotations

from ssc_response.training.model_card import model_card_markdown
from tests.training.test_reports import make_card


def test_a_registered_card_names_its_version() -> None:
    text = model_card_markdown(make_card(model_name="ssc-skin-response", model_version="3"))
    assert text.splitlines()[0] == "# Model card: ssc-skin-response version 3"
    assert "- Version: 3\n" in text


def test_a_card_logged_before_registration_names_its_run_not_a_version() -> None:
    text = model_card_markdown(make_card(model_name="quick", model_version=None, run_id="0123abcd"))
    assert text.splitlines()[0] == "# Model card: quick, run 0123abcd (not registered)"
    assert "- Version: not registered\n" in text
    assert "(version" not in text
