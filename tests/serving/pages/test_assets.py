"""Vendored assets ship with the package, unchanged (checksums as noted), and nothing else
in the pages refers to the internet."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import pytest

PAGES = Path(__file__).resolve().parents[3] / "serving" / "pages"
VENDOR = PAGES / "static" / "vendor"
ROOT = PAGES.parents[1]

pytestmark = pytest.mark.contract


def noted_checksums() -> dict[str, str]:
    text = (VENDOR / "README.md").read_text(encoding="utf-8")
    return {path: digest for digest, path in re.findall(r"^([0-9a-f]{64})  (\S+)$", text, re.M)}


def test_every_vendored_file_matches_its_noted_checksum() -> None:
    noted = noted_checksums()
    present = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file()}
    assert present - {"README.md"} == set(noted)
    for path, digest in noted.items():
        assert hashlib.sha256((VENDOR / path).read_bytes()).hexdigest() == digest, path


def test_templates_and_first_party_assets_load_nothing_from_outside() -> None:
    for path in [*PAGES.joinpath("templates").glob("*.html"), PAGES / "static" / "pages.css",
                 PAGES / "static" / "pages.js"]:
        assert not re.search(r"(src|href)=\"https?://", path.read_text(encoding="utf-8")), path


def test_package_data_includes_templates_and_static_files() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["ssc_response.serving.pages"]
    files = [p for p in PAGES.rglob("*") if p.is_file() and p.suffix != ".py"
             and "__pycache__" not in p.parts]
    for path in files:
        relative = path.relative_to(PAGES)
        assert any(relative.match(pattern) for pattern in patterns), relative
