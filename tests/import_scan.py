"""Which distributions code imports, and which a set of requirements installs: for the requirements tests.

An AST scan (no import is executed) of every `import` and `from … import` statement, top-level or inside
a function; relative imports are the scanned package's own. A module is mapped to the distribution that
ships its file, so `airflow.providers.amazon…` is the Amazon provider and `airflow.sdk` the task SDK.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata as metadata
import sys
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(source: str) -> set[str]:
    """The absolute module names `source` imports (for `from a import b`: `a`)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def scan_folders(folders: Iterable[Path]) -> dict[str, set[Path]]:
    """Module name -> the files that import it, over every .py file under `folders`."""
    found: dict[str, set[Path]] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            for module in imported_modules(path.read_text()):
                found.setdefault(module, set()).add(path)
    return found


def module_file(module: str, roots: dict[str, Path]) -> Path | None:
    """The file of a first-party module (`roots`: top-level package -> the folder holding it)."""
    parts = module.split(".")
    if parts[0] not in roots:
        return None
    base = roots[parts[0]].joinpath(*parts)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def scan_from(entry_modules: Iterable[str], roots: dict[str, Path]) -> dict[str, set[str]]:
    """Third-party module -> the first-party modules importing it, following first-party imports
    (and their packages' __init__) from `entry_modules`, as the interpreter would reach them."""
    third: dict[str, set[str]] = {}
    seen: set[str] = set()
    todo = list(entry_modules)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = module_file(module, roots)
        if path is None:
            continue
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        package = parts if path.name == "__init__.py" else parts[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for name in names:
                top = name.split(".")[0]
                if top in roots:
                    todo.append(name)
                elif top not in sys.stdlib_module_names:
                    third.setdefault(name, set()).add(module)
    return third


@functools.cache
def _top_level_distributions() -> dict[str, list[str]]:
    """Top-level module name -> the distributions that ship it, from top_level.txt and the files each
    distribution installed. (Python 3.10's packages_distributions() reads top_level.txt alone, which most
    wheels, the providers' and orjson's among them, do not have.)"""
    found: dict[str, list[str]] = {}
    for dist in metadata.distributions():
        tops = set((dist.read_text("top_level.txt") or "").split())
        for file in dist.files or ():
            first = file.parts[0]
            if first.endswith((".dist-info", ".egg-info")) or first in ("..", "__pycache__"):
                continue
            if len(file.parts) == 1:  # a module file: foo.py, foo.cpython-310-x86_64-linux-gnu.so
                if file.suffix not in (".py", ".so", ".pyd"):
                    continue
                first = first.split(".")[0]
            tops.add(first)
        for top in tops:
            found.setdefault(top, []).append(dist.metadata["Name"])
    return found


@functools.cache
def _owned_modules(distribution: str) -> frozenset[str]:
    """The module and package names a distribution's files hold."""
    names = set()
    for file in metadata.distribution(distribution).files or ():
        if file.suffix == ".py":
            parts = file.with_suffix("").parts
            names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return frozenset(names)


def distribution_of(module: str) -> str | None:
    """The canonical name of the installed distribution that provides `module`, or None if none does
    (a first-party or standard-library module)."""
    candidates = _top_level_distributions().get(module.split(".")[0], [])
    if len(set(candidates)) == 1:
        return canonicalize_name(candidates[0])
    parts = module.split(".")
    for end in range(len(parts), 0, -1):  # the longest prefix a single distribution ships
        prefix = ".".join(parts[:end])
        owners = {canonicalize_name(d) for d in candidates if prefix in _owned_modules(d)}
        if len(owners) == 1:
            return owners.pop()
    return None


def pins(path: Path) -> dict[str, str]:
    """name (canonical) -> version of a file of `name==version` lines."""
    result = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            result[canonicalize_name(name.split("[")[0])] = version.split(";")[0].strip()
    return result


def inputs(path: Path = ROOT / "requirements.in") -> set[str]:
    """The direct dependencies requirements.in names (canonical, without extras)."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(canonicalize_name(Requirement(line).name))
    return names


def installed_with(roots: Iterable[str]) -> set[str]:
    """Every distribution pip installs with `roots`: their declared requirements, transitively, with the
    markers evaluated for this interpreter and the extras each requirement asks for."""
    done: set[tuple[str, frozenset[str]]] = set()
    todo = [(canonicalize_name(name), frozenset[str]()) for name in roots]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in done:
            continue
        done.add((name, extras))
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:  # required on another platform or by an extra nobody asks for
            continue
        for line in requires:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras | {""}):
                todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return {name for name, _ in done}
