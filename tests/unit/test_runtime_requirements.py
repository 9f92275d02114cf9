"""requirements-runtime.txt is what dags/ and plugins/ import; requirements-local-stack.txt is what the local
stack's code in the Compose image imports beyond it. Both pinned as in requirements.txt.

The rule, both ways: every imported distribution that requirements.in names is listed with the lock's pin;
every other import arrives as a declared requirement of apache-airflow or of a listed package (an import
scan cannot re-lock: such a package enters requirements.in with the next `make lock`); nothing is listed
that is not imported, except the allow-lists below, each with its reason.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tests.import_scan import (
    ROOT,
    distribution_of,
    imported_modules,
    inputs,
    installed_with,
    pins,
    scan_folders,
    scan_from,
)

RUNTIME = ROOT / "requirements-runtime.txt"
LOCAL_STACK = ROOT / "requirements-local-stack.txt"
AIRFLOW = "apache-airflow"  # the deployment's own: never in requirements-runtime.txt

# Listed, though no `import` statement in dags/ or plugins/ names them.
RUNTIME_LOADED_WITHOUT_AN_IMPORT = {
    # The `redshift` connection's driver: RedshiftSQLHook imports it; sparkify.executor preloads it by name
    # (importlib); sparkify.retry_policy and sparkify.s3copy.redshift_copy read its errors' dict of server
    # fields, so the deployment runs the version the tests ran.
    "redshift-connector",
}
LOCAL_STACK_LOADED_WITHOUT_AN_IMPORT = {
    "psycopg-binary",  # psycopg[binary]'s compiled build, which `import psycopg` loads itself
}


def distributions(modules) -> dict[str, set[str]]:
    """distribution -> the modules of it imported; fails on a module nothing installed provides."""
    found: dict[str, set[str]] = {}
    unknown = []
    for module in modules:
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in {"sparkify", "local_stack"}:
            continue
        distribution = distribution_of(module)
        if distribution is None:
            unknown.append(module)
        else:
            found.setdefault(distribution, set()).add(module)
    assert unknown == [], "imports that no installed distribution provides"
    return found


def check(imported: set[str], listed: dict[str, str], base: list[str], allowed: set[str]) -> None:
    lock = pins(ROOT / "requirements.txt")
    assert {name: lock.get(name) for name in listed} == listed, "a pin differs from requirements.txt"
    named = inputs() - {AIRFLOW}
    assert sorted((imported & named) - set(base) - set(listed)) == [], "imported, in requirements.in, not listed"
    provided = installed_with([AIRFLOW, *base, *listed])
    assert sorted(imported - provided) == [], "imported, and nothing listed installs it"
    assert sorted(set(listed) - imported - allowed) == [], "listed, and not imported"
    assert sorted(allowed - set(listed)) == [] and sorted(allowed & imported) == [], "a stale allow-list entry"


def test_the_scan_sees_every_absolute_import():
    source = (
        "import a.b, c\nfrom d.e import f\nfrom . import g\nfrom .h import i\n"
        "def run():\n    import j\n    from k import l\n"
    )
    assert imported_modules(source) == {"a.b", "c", "d.e", "j", "k"}


def test_a_namespace_package_maps_to_the_distribution_that_ships_the_module():
    assert distribution_of("airflow.providers.amazon.aws.hooks.s3") == "apache-airflow-providers-amazon"
    assert distribution_of("airflow.sdk") == "apache-airflow-task-sdk"
    assert distribution_of("yaml") == "pyyaml"
    assert distribution_of("sparkify") is None


def test_requirements_runtime_is_what_dags_and_plugins_import():
    imported = distributions(scan_folders([ROOT / "dags", ROOT / "plugins"]))
    # The scan reaches imports inside functions (matplotlib is imported only when a chart is drawn).
    assert "matplotlib" in imported and "apache-airflow-providers-amazon" in imported
    check(set(imported), pins(RUNTIME), [], RUNTIME_LOADED_WITHOUT_AN_IMPORT)
    assert not {"psycopg", "orjson", "zstandard", "python-dotenv", "moto", "pytest"} & set(pins(RUNTIME))


def compose_local_stack_modules() -> dict[str, str]:
    """service -> module, for each Compose service that runs `python -m local_stack…` in the project's image."""
    services = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["services"]
    found = {}
    for name, service in services.items():
        command = service.get("command")
        if isinstance(command, list) and command[:2] == ["python", "-m"] and command[2].startswith("local_stack"):
            found[name] = command[2]
    return found


def test_requirements_local_stack_is_what_the_compose_image_runs_of_the_local_stack():
    modules = compose_local_stack_modules()
    assert modules == {"redshift": "local_stack.redshift", "seed-s3": "local_stack.compose_seed"}
    entries = [f"{module}.__main__" if module == "local_stack.redshift" else module for module in modules.values()]
    third = scan_from(entries, {"local_stack": ROOT / "include", "sparkify": ROOT / "plugins"})
    imported = distributions(third)
    assert {"psycopg", "orjson", "zstandard", "python-dotenv"} <= set(imported)
    runtime = list(pins(RUNTIME))
    listed = pins(LOCAL_STACK)
    assert not set(listed) & set(runtime), "listed in both files"
    check(set(imported) - set(runtime), listed, runtime, LOCAL_STACK_LOADED_WITHOUT_AN_IMPORT)


@pytest.mark.parametrize("path", [RUNTIME, LOCAL_STACK], ids=lambda path: Path(path).name)
def test_the_docker_image_installs_the_file(path):
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"COPY {path.name} /{path.name}" in dockerfile
    assert f"-r /{path.name}" in dockerfile
