"""What the code's docstrings and comments cite exists: every repository path they name
from the root (`docs/observability.md#metrics`, a module, a test), every `§N` of
docs/protocol.md, and no citation of a document a reader of the repository cannot open
(a design file or issue tracker that is not in it, a README section that moved into
docs/). Python files are read for their docstrings and comments only (code may hold
strings that merely look like paths); other files (rules, scripts, pages) whole."""

from __future__ import annotations

import ast
import functools
import io
import re
import tokenize
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.test_docs import anchors

SCANNED = ("clubpengu", "tests", "scripts", "deploy")
SUFFIXES = {".py", ".lua", ".yml", ".yaml", ".html", ".js", ".css", ".cfg", ".toml", ".sh"}
SCRIPTS_WITHOUT_SUFFIX = {"bootstrap", "lock", "serve", "test", "Dockerfile"}

# A path from the repository's root, not inside a URL or a longer path.
_PATH = re.compile(r"(?<![\w./-])((?:docs|clubpengu|tests|scripts|deploy)/[\w./-]*\w)(#[\w-]+)?")
# `docs/protocol.md §6`, `docs/protocol.md §6, §7`, `docs/protocol.md §2-§3`.
_SECTIONS = re.compile(r"docs/protocol\.md,? ((?:§\d+)(?:(?:\s*[-\u2013]\s*|,\s*)§\d+)*)")
_DEAD = {
    r"\bDESIGN\.md\b": "the design is docs/architecture.md",
    r"\bissue #?\d+": "issue numbers lead nowhere from the repository",
    r"\bREADME, [A-Z\"]": "README's sections moved into docs/",
    r"\bPROTOCOL\.md §": "PROTOCOL.md is not in the repository: cite docs/protocol.md §N",
}


def _scanned_files() -> list[Path]:
    found = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix in SUFFIXES or path.name in SCRIPTS_WITHOUT_SUFFIX:
                found.append(path)
    return found


FILES = _scanned_files()
THIS = Path(__file__).resolve()


_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


@functools.cache
def _prose(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of what a reader reads as prose: a Python file's docstrings and
    comments; any other file whole."""
    text = path.read_text(errors="replace")
    if path.suffix != ".py":
        return list(enumerate(text.splitlines(), 1))
    lines = []
    for node in ast.walk(ast.parse(text)):
        docstring = ast.get_docstring(node, clean=False) if isinstance(node, _DOCUMENTED) else None
        if docstring:
            first = node.body[0].lineno  # type: ignore[union-attr]
            lines += [(first + i, line) for i, line in enumerate(docstring.splitlines())]
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    lines += [(t.start[0], t.string) for t in tokens if t.type == tokenize.COMMENT]
    return lines


def _citations(pattern: re.Pattern[str]) -> list[tuple[str, re.Match[str]]]:
    """Every match of `pattern` in the scanned files but this one, with where it is."""
    found = []
    for path in FILES:
        if path.resolve() == THIS:
            continue
        for number, line in _prose(path):
            for match in pattern.finditer(line):
                found.append((f"{path.relative_to(ROOT)}:{number}", match))
    return found


def protocol_sections() -> set[int]:
    text = (ROOT / "docs" / "protocol.md").read_text()
    return {int(n) for n in re.findall(r"^## (\d+)\.", text, re.MULTILINE)}


def test_the_scan_reads_the_code_and_finds_citations() -> None:
    paths = _citations(_PATH)
    sections = _citations(_SECTIONS)

    assert len(FILES) > 100
    assert any(m.group(1) == "docs/observability.md" for _, m in paths)
    assert any(m.group(1) == "§2" for _, m in sections)


def test_every_repository_path_a_comment_names_exists() -> None:
    missing = []
    for where, match in _citations(_PATH):
        path, anchor = match.group(1), (match.group(2) or "").lstrip("#")
        target = ROOT / path
        if not target.exists():
            missing.append(f"{where}: {path}")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target.read_text()):
            missing.append(f"{where}: {path} has no heading #{anchor}")

    assert missing == []


def test_every_section_of_docs_protocol_md_that_is_cited_exists() -> None:
    sections = protocol_sections()

    missing = [
        f"{where}: §{number}"
        for where, match in _citations(_SECTIONS)
        for number in map(int, re.findall(r"§(\d+)", match.group(1)))
        if number not in sections
    ]

    assert sections >= {1, 2, 3, 4}
    assert missing == []


@pytest.mark.parametrize("pattern", sorted(_DEAD))
def test_nothing_cites_a_document_outside_the_repository(pattern: str) -> None:
    cited = [f"{where}: {match.group(0)}" for where, match in _citations(re.compile(pattern))]

    assert cited == [], _DEAD[pattern]
