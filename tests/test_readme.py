"""The README stays a starting point: short, and about the product as it is now (history lives in
git, figures and facts in docs/)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_at_most_8000_characters() -> None:
    assert len(README) <= 8000


def test_the_readme_tells_no_history() -> None:
    diary = re.compile(r"this round|earlier round|this session|\bissue \d+|\b[0-9a-f]{7,40}\b",
                       re.IGNORECASE)
    assert diary.findall(README) == []


def test_the_readme_gives_both_quick_start_commands_and_the_fast_tests() -> None:
    for command in ("make demo", "make test", "make test-fast", ".ci/run"):
        assert command in README
