"""Plain helpers for the browser tests (Debian's Chromium driven by Playwright against a real
``serve``): a page, sign-in and the one-patient form.
The fixtures (``deployment``, ``chromium``, ``shots``, ``patient``) are in ``conftest.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ssc_response.features.schema import fields
from tests.serving.live_server import Server

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT_MS = 30_000


def typed(value: Any) -> str:
    """A cell as typed into the form: blank when missing, yes/no, numbers as written."""
    import pandas as pd

    if pd.isna(value):
        return ""
    if str(value) in ("True", "False"):
        return "yes" if str(value) == "True" else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def new_page(chromium: Any, server: Server) -> Any:
    context = chromium.new_context(base_url=server.url, viewport={"width": 1200, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def sign_in(page: Any, key: str) -> None:
    page.goto("/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def fill_patient(page: Any, record: dict[str, str]) -> None:
    """Type ``record`` into the one-patient form (radio buttons and select lists by value)."""
    for name, value in record.items():
        target = page.locator(f'[name="{name}"]')
        if fields()[name].type == "boolean":  # radio buttons: not recorded / yes / no
            page.locator(f'input[name="{name}"][value="{value}"]').check()
        elif fields()[name].type == "category":
            target.select_option(value)
        else:
            target.fill(value)
