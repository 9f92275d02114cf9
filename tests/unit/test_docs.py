"""The docs stay true to the tree: every relative link resolves, and every `make` target they name exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", ROOT / "bench" / "README.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\]\(([^)\s]+)\)")
MAKE = re.compile(r"\bmake ([a-z][a-z0-9-]*)")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", markdown.read_text(), flags=re.S)
    return {github_anchor(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, flags=re.M)}


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z0-9-]*):", (ROOT / "Makefile").read_text(), flags=re.M))


def relative_links(doc: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.S)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path):
    broken = []
    for target in relative_links(doc):
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path) if path else doc
        if not resolved.exists():
            broken.append(
                f"{target}: no file {resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else resolved}"
            )
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert broken == [], f"{doc.relative_to(ROOT)} has broken links"


def make_targets_named(markdown: str) -> set[str]:
    """Targets of `make …` commands in code: fenced blocks and inline spans (prose may say "make sure")."""
    code = re.findall(r"```.*?```", markdown, flags=re.S)
    code += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", markdown, flags=re.S))
    return {target for snippet in code for target in MAKE.findall(snippet)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_make_target_named_exists(doc: Path):
    named = make_targets_named(doc.read_text())
    assert named - makefile_targets() == set(), f"{doc.relative_to(ROOT)} names make targets the Makefile lacks"


def test_the_readme_is_a_way_in_not_a_manual():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150


def test_every_docs_file_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    unlinked = [p.name for p in (ROOT / "docs").glob("*.md") if f"(docs/{p.name})" not in readme]
    assert unlinked == []


def test_the_link_checker_sees_a_broken_link(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("# Title\n[ok](x.md#title) [bad](missing.md) [bad anchor](x.md#nope) [web](https://example.com)\n")
    assert relative_links(doc) == ["x.md#title", "missing.md", "x.md#nope"]
    assert anchors(doc) == {"title"}


def test_make_targets_are_read_from_code_only():
    text = "make sure `make up` and `PYTHON=x make demo`\n```bash\nmake down && make run\n```\n"
    assert make_targets_named(text) == {"up", "demo", "down", "run"}
