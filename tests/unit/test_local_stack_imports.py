"""The local stack uses the product only through the modules docs/local-stack.md lists ("What the local
stack imports from the product"); the Redshift emulator only through those marked emulator.

The table in the doc is the one list: this test reads it, and scans include/local_stack/ (an AST scan,
nothing imported) for every `import sparkify…`, `from sparkify… import …` and `import_module("sparkify…")`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.import_scan import ROOT

LOCAL_STACK = ROOT / "include" / "local_stack"
EMULATOR = LOCAL_STACK / "redshift"
DOC = ROOT / "docs" / "local-stack.md"
SECTION = "## What the local stack imports from the product"


def listed_modules() -> dict[str, str]:
    """module -> 'emulator' or 'tooling', from the doc's table."""
    text = DOC.read_text()
    assert SECTION in text, f"{DOC} has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    listed: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1] in ("emulator", "tooling"):
            for module in re.findall(r"`(sparkify(?:\.\w+)*)`", cells[0]):
                listed[module] = cells[1]
    return listed


def product_imports(path: Path) -> set[str]:
    """The sparkify modules `path` imports: `from sparkify.a import b` counts as sparkify.a.b when b is a
    module, else as sparkify.a."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [m for m in modules if is_module(m)] or [node.module]
        elif isinstance(node, ast.Call) and call_name(node.func) in ("import_module", "__import__") and node.args:
            argument = node.args[0]
            names = [argument.value] if isinstance(argument, ast.Constant) and isinstance(argument.value, str) else []
        found.update(name for name in names if name == "sparkify" or name.startswith("sparkify."))
    return found


def is_module(name: str) -> bool:
    base = ROOT / "plugins" / Path(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def call_name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def imports_under(folder: Path) -> dict[str, set[str]]:
    """sparkify module -> the files under `folder` that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        for module in product_imports(path):
            found.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_doc_lists_the_emulator_modules_and_real_modules_only():
    listed = listed_modules()
    assert {m for m, user in listed.items() if user == "emulator"} >= {"sparkify.s3copy.spec", "sparkify.identifiers"}
    assert [m for m in listed if not is_module(m)] == []


def test_the_emulator_imports_only_the_modules_listed_for_it():
    allowed = {m for m, user in listed_modules().items() if user == "emulator"}
    imported = imports_under(EMULATOR)
    assert {m: files for m, files in imported.items() if m not in allowed} == {}, (
        f"the emulator imports product modules that {DOC.name} does not list for it"
    )


def test_the_local_stack_imports_only_the_listed_modules():
    allowed = set(listed_modules())
    imported = imports_under(LOCAL_STACK)
    assert {m: files for m, files in imported.items() if m not in allowed} == {}, (
        f"the local stack imports product modules that {DOC.name} does not list"
    )


def test_every_listed_module_is_still_imported():
    imported = imports_under(LOCAL_STACK)
    emulator = imports_under(EMULATOR)
    listed = listed_modules()
    assert [m for m in listed if m not in imported] == []
    assert [m for m, user in listed.items() if user == "emulator" and m not in emulator] == []


def test_the_scan_sees_every_form_of_import(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "import sparkify.config\n"
        "from sparkify.s3copy.spec import CopyOptions\n"
        "from sparkify.s3copy import objects\n"
        "def f():\n"
        "    import importlib\n"
        "    from sparkify.window import parse_instant\n"
        "    return importlib.import_module('sparkify.pools')\n"
        "x = 'sparkify.executor.PreloadingLocalExecutor'\n"
    )
    assert product_imports(source) == {
        "sparkify.config",
        "sparkify.s3copy.spec",
        "sparkify.s3copy.objects",
        "sparkify.window",
        "sparkify.pools",
    }
