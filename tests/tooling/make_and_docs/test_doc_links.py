"""Every link between the README, the docs and the repository's files resolves: the file, and its anchor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.paths import ROOT

DOCUMENTS = [ROOT / "README.md", ROOT / "tests" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"```.*?```", re.DOTALL)


def anchors(document: Path) -> set[str]:
    """The anchors GitHub makes of a document's headings: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", _FENCE.sub("", document.read_text(encoding="utf-8")), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def links(document: Path) -> list[str]:
    return _LINK.findall(_FENCE.sub("", document.read_text(encoding="utf-8")))


def test_the_slugs_are_githubs() -> None:
    assert anchors(ROOT / "docs" / "local-development.md") >= {
        "make-run-the-docker-free-local-api",
        "where-sam-local-is-not-api-gateway",
    }


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_link_resolves(document: Path) -> None:
    broken = []
    for target in links(document):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: nothing here reaches the network
            continue
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading makes #{anchor}")
    assert not broken, f"{document.relative_to(ROOT)}: " + "; ".join(broken)
