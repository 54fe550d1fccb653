"""README.md's links into the repository lead somewhere, and README stays a five-minute read.

`mkdocs build --strict` (in scripts/test) checks the links between the pages of docs/;
README.md is not one of those pages, so its links are checked here: every relative link
names an existing file, and every `#anchor` names a heading of that file, slugged as
GitHub does (where README's links are followed).
"""

from __future__ import annotations

import re

import pytest

from tests.support import ROOT

README = ROOT / "README.md"
README_MAX_LINES = 120  # a README a newcomer reads in five minutes
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_EXTERNAL = ("http://", "https://", "mailto:")
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def relative_links(markdown: str) -> list[str]:
    """Every link or image target outside fenced code that points into the repository."""
    text = _FENCE.sub("", markdown)
    return [target for target in _LINK.findall(text) if not target.startswith(_EXTERNAL)]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    text = _FENCE.sub("", markdown)
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
    return {github_slug(heading) for heading in headings}


def test_the_link_helpers_read_markdown_as_github_does() -> None:
    markdown = (
        "# Club Pengu\n## Sign-in, sessions and `JWT`s\n"
        "[a](docs/a.md#x) ![b](docs/img/b.png) [c](https://example.com)\n"
        "```\n[d](nowhere.md)\n```\n"
    )

    links = relative_links(markdown)
    found = anchors(markdown)

    assert links == ["docs/a.md#x", "docs/img/b.png"]
    assert found == {"club-pengu", "sign-in-sessions-and-jwts"}


def test_the_readme_links_to_the_docs() -> None:
    links = relative_links(README.read_text())

    assert any(link.startswith("docs/") for link in links)


@pytest.mark.parametrize("link", relative_links(README.read_text()))
def test_every_relative_link_of_the_readme_names_an_existing_file(link: str) -> None:
    path, _, anchor = link.partition("#")
    target = (ROOT / path).resolve() if path else README

    assert target.is_relative_to(ROOT), f"{link} leaves the repository"
    assert target.is_file(), f"README links to {link}, which is not a file"
    if anchor:
        assert anchor in anchors(target.read_text()), f"{path} has no heading #{anchor}"


def test_the_readme_stays_a_five_minute_read() -> None:
    lines = README.read_text().splitlines()

    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines; move the detail into docs/ (limit {README_MAX_LINES})"
    )


ARCHITECTURE = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "clubpengu"


def _architecture_map() -> str:
    text = ARCHITECTURE.read_text()
    return text.split("<!-- ARCHITECTURE-MAP", 1)[1].split("<!-- /ARCHITECTURE-MAP -->", 1)[0]


def test_the_architecture_map_names_every_module_and_package_of_the_code() -> None:
    block = _architecture_map()
    named = set(re.findall(r"[\w]+\.py", block)) | set(re.findall(r"([\w]+)/", block))

    modules = {p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"}
    packages = {p.parent for p in PACKAGE.rglob("__init__.py")} - {PACKAGE}
    missing = sorted(
        {str(p.relative_to(ROOT)) for p in modules if p.name not in named}
        | {str(p.relative_to(ROOT)) + "/" for p in packages if p.name not in named}
    )

    assert missing == [], "docs/architecture.md's package map does not name these"


def test_every_module_the_architecture_map_names_exists() -> None:
    block = _architecture_map()
    existing = {p.name for p in PACKAGE.rglob("*.py")}

    stale = sorted(set(re.findall(r"[\w]+\.py", block)) - existing)

    assert stale == [], "docs/architecture.md's package map names modules that are gone"
