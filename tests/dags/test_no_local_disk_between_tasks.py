"""No task passes data to another task through a worker's local disk (issue 17).

On CeleryExecutor, Kubernetes, MWAA or Astro each task may run on a different worker, so a file
one task writes is not there for the next. The DAGs pass data through XCom, the warehouse and
S3 (COPY manifests, the report through ObjectStoragePath). This scans the code the DAGs run
(dags/ and plugins/sparkify/) for local-file writes; the one allowed is `make report`'s local
copy for the user, which no DAG calls.
"""

from __future__ import annotations

import ast

from tests.support import PROJECT_ROOT

WRITES = {
    "write_text",
    "write_bytes",
    "mkdir",
    "makedirs",
    "mkstemp",
    "mkdtemp",
    "NamedTemporaryFile",
    "TemporaryDirectory",
    "TemporaryFile",
    "replace",
    "rename",
    "fdopen",
    "to_csv",
    "to_parquet",
    "savefig",
}
ALLOWED = {
    ("plugins/sparkify/report/refresh.py", "_replace"),  # make report's local copy; no DAG calls it
    ("plugins/sparkify/report/refresh.py", "write_local_copy"),
    ("plugins/sparkify/report/charts.py", "chart_png"),  # savefig into an in-memory buffer (checked below)
}


def local_writes(source: str, relative: str) -> list[tuple[str, int, str]]:
    """(innermost function, line, call) of every call in `source` that may write a local file,
    outside the allowed functions."""
    found: list[tuple[str, int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if isinstance(node, ast.Call) and (relative, function) not in ALLOWED:
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            os_replace = called == "replace" and getattr(getattr(node.func, "value", None), "id", "") == "os"
            writing_open = called == "open" and any(
                isinstance(a, ast.Constant) and isinstance(a.value, str) and set(a.value) & set("wax+")
                for a in [
                    *node.args[(0 if isinstance(node.func, ast.Attribute) else 1) :][:1],  # Path.open(mode)
                    *(k.value for k in node.keywords if k.arg == "mode"),
                ]
            )
            if writing_open or os_replace or called in WRITES - {"replace"}:
                found.append((function, node.lineno, called))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(source), "<module>")
    return found


def test_no_dag_or_plugin_code_writes_a_local_file():
    files = [*(PROJECT_ROOT / "dags").glob("*.py"), *(PROJECT_ROOT / "plugins" / "sparkify").rglob("*.py")]
    offenders = {}
    for path in files:
        relative = str(path.relative_to(PROJECT_ROOT))
        if writes := local_writes(path.read_text(), relative):
            offenders[relative] = writes
    # write_page's path.open("wb") and mkdir act on an ObjectStoragePath (S3 through fsspec), not a local file.
    storage = offenders.pop("plugins/sparkify/report/storage.py")
    assert [(function, call) for function, _, call in storage] == [
        ("write_page", "mkdir"),
        ("write_page", "open"),
    ]
    assert offenders == {}


def test_the_scan_finds_a_local_write():
    """Not vacuous: the writes the report task used to make are found outside the allowed functions."""
    probe = (
        "import os, tempfile\nfrom pathlib import Path\n"
        "def task():\n    Path('reports').mkdir()\n    open('r.html', 'w').write('x')\n    Path('p').open('ab')\n"
        "    open('in.txt').read()\n    tempfile.mkstemp()\n    os.replace('a', 'b')\n    'a'.replace('a', 'b')\n"
    )
    assert [(f, c) for f, _, c in local_writes(probe, "dags/probe.py")] == [
        ("task", "mkdir"),
        ("task", "open"),
        ("task", "open"),
        ("task", "mkstemp"),
        ("task", "replace"),
    ]
    refresh = (PROJECT_ROOT / "plugins/sparkify/report/refresh.py").read_text()
    assert local_writes(refresh, "plugins/sparkify/report/refresh.py") == []
    assert {c for _, _, c in local_writes(refresh, "elsewhere.py")} >= {"mkdir", "mkstemp", "replace"}


def test_the_chart_is_rendered_in_memory():
    source = (PROJECT_ROOT / "plugins/sparkify/report/charts.py").read_text()
    assert "io.BytesIO()" in source and "savefig(buffer" in source
