"""The deployable set (README "Pointing it at AWS", docs/aws.md) is all a deployment needs.

The set is copied alone into an empty folder and every DAG is parsed from it with Airflow's DagBag, in an
isolated interpreter (`python -I`: no PYTHONPATH, no current folder) whose imports are limited to what
`pip install apache-airflow requirements-runtime.txt` installs: every other installed distribution (moto,
psycopg, orjson, the Celery provider, pytest, ...) is refused as if it were absent. `include/local_stack`
is not in the set, so it cannot be imported; the probe also records every file opened under the
repository, which would be a file outside the set.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path, PurePath

from packaging.utils import canonicalize_name

from tests.import_scan import ROOT, installed_with, pins

# What a deployment copies, relative to the repository (and to the deployment's folder).
DEPLOYABLE = ("dags", "plugins", "include/sql", "include/quality_checks.yaml")
DAG_IDS = {"sparkify_audit", "sparkify_etl", "sparkify_infra", "sparkify_report"}

PROBE = r"""
import importlib, json, pkgutil, sys

site, dags, repository, venv = sys.argv[1:5]
sys.path.append(site)
opened = set()


def audit(event, args):
    path = args[0] if event == "open" and isinstance(args[0], str) else ""
    if path.startswith(repository) and not path.startswith(venv):
        opened.add(path)


sys.addaudithook(audit)

from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=dags)
import sparkify

failed = {}
for module in pkgutil.walk_packages(sparkify.__path__, "sparkify."):
    try:
        importlib.import_module(module.name)
    except Exception as error:  # reported, with the module's name
        failed[module.name] = repr(error)
print(json.dumps({
    "dag_ids": sorted(bag.dag_ids),
    "import_errors": {str(k): v[-2000:] for k, v in bag.import_errors.items()},
    "module_errors": failed,
    "local_stack": sorted(m for m in sys.modules if m.split(".")[0] == "local_stack"),
    "local_stack_importable": importlib.util.find_spec("local_stack") is not None,
    "absent_importable": sorted(m for m in ("moto", "orjson", "psycopg", "pytest") if importlib.util.find_spec(m)),
    "sparkify_file": sparkify.__file__,
    "opened": sorted(opened),
}))
"""


def runtime_site_packages(target: Path) -> set[str]:
    """A site-packages of symbolic links to the venv's files of what `pip install apache-airflow -r
    requirements-runtime.txt` installs, and nothing else; returns those distributions' names."""
    allowed = installed_with(["apache-airflow", *pins(ROOT / "requirements-runtime.txt")])
    kept: set[PurePath] = set()
    other_folders: set[PurePath] = set()  # folders that also hold another distribution's files
    site = None
    for distribution in metadata.distributions():
        files = [f for f in distribution.files or () if ".." not in f.parts]
        if canonicalize_name(distribution.metadata["Name"]) in allowed:
            kept.update(PurePath(f) for f in files)
            site = site or Path(str(distribution.locate_file("")))
        else:
            other_folders.update(p for f in files for p in PurePath(f).parents)
    assert site is not None
    linked = set()
    for file in kept:
        # The shortest ancestor that no other distribution shares, else the file itself.
        link = next((p for p in reversed([*file.parents][:-1]) if p not in other_folders), file)
        if link not in linked:
            linked.add(link)
            (target / link).parent.mkdir(parents=True, exist_ok=True)
            (target / link).symlink_to(site / link)
    return allowed


def copy_deployable_set(target: Path) -> None:
    for name in DEPLOYABLE:
        source, destination = ROOT / name, target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination)


def test_the_deployable_set_parses_with_the_runtime_requirements_alone(tmp_path):
    deployment, home = tmp_path / "deployment", tmp_path / "airflow-home"
    copy_deployable_set(deployment)
    home.mkdir()
    allowed = runtime_site_packages(tmp_path / "site-packages")
    assert "apache-airflow-providers-amazon" in allowed and not {"moto", "psycopg", "orjson"} & allowed

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(deployment / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(deployment / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    arguments = [tmp_path / "site-packages", deployment / "dags", f"{ROOT}{os.sep}", ROOT / ".venv"]
    command = [sys.executable, "-I", "-S", "-c", PROBE, *map(str, arguments)]
    out = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])

    assert result["import_errors"] == {}
    assert set(result["dag_ids"]) == DAG_IDS
    assert result["module_errors"] == {}
    assert result["sparkify_file"] == str(deployment / "plugins" / "sparkify" / "__init__.py")
    assert result["local_stack"] == [] and result["local_stack_importable"] is False
    assert result["absent_importable"] == []
    assert result["opened"] == [], "files read from the repository instead of the deployable set"


def test_the_docs_name_the_deployable_set():
    for page in ("README.md", "docs/aws.md"):
        text = (ROOT / page).read_text()
        for name in DEPLOYABLE:
            assert f"`{name}" in text, (page, name)
        assert "include/local_stack" in text, f"{page} says the local stack is not deployed"
