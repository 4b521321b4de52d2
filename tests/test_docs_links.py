"""Every relative link in README.md and docs/*.md points to a file that exists.

A link is a Markdown inline link ``[text](target)`` or image ``![alt](target)``; a target with a
scheme (``https:``, ``mailto:``) or only an anchor (``#section``) is not a file and is skipped.
A target's own anchor and query are dropped before the file is looked up, relative to the
document that holds the link. Links inside code (fenced blocks, inline backticks) are examples,
not links, so they are left out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def link_targets(text: str) -> list[str]:
    """The targets of the inline links and images of a Markdown text, outside code."""
    prose = INLINE_CODE.sub("", FENCE.sub("", text))
    return LINK.findall(prose)


def local_path(target: str) -> str | None:
    """The file part of a relative target; None for an external link or a bare anchor."""
    if SCHEME.match(target) or target.startswith("#"):
        return None
    return target.split("#", 1)[0].split("?", 1)[0] or None


def test_the_link_finder_sees_links_and_skips_code_and_external_targets() -> None:
    text = ("See [a](docs/a.md#part) and ![b](img/b.png \"title\"), [c](https://x.org), "
            "[d](#anchor), `[e](not/a/link.md)`.\n```\n[f](inside/fence.md)\n```\n")
    targets = link_targets(text)
    assert targets == ["docs/a.md#part", "img/b.png", "https://x.org", "#anchor"]
    assert [local_path(t) for t in targets] == ["docs/a.md", "img/b.png", None, None]


def test_there_are_documents_with_relative_links() -> None:
    """The check below would pass vacuously if the search found nothing."""
    assert (ROOT / "README.md") in DOCUMENTS and len(DOCUMENTS) > 3
    readme_links = [local_path(t) for t in link_targets(DOCUMENTS[0].read_text("utf-8"))]
    assert "docs/methods.md" in readme_links


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file(document: Path) -> None:
    broken = []
    for target in link_targets(document.read_text(encoding="utf-8")):
        path = local_path(target)
        if path is not None and not (document.parent / path).exists():
            broken.append(target)
    assert broken == [], f"{document.relative_to(ROOT)} links to missing files: {broken}"
