"""The local stack writes the DAG files' bytecode when it starts Airflow (PYTHONDONTWRITEBYTECODE or not)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

from local_stack.airflow_services import compile_dag_files


def test_the_bytecode_is_written_beside_each_dag_file_and_python_loads_it(tmp_path):
    (tmp_path / "nested").mkdir()
    dag = tmp_path / "nested" / "a_dag.py"
    dag.write_text("VALUE = 6 * 7\n")
    (tmp_path / "broken.py").write_text("def (:\n")  # its own import error, later: not this step's

    assert compile_dag_files(tmp_path) is False  # one file did not compile
    cached = importlib.util.cache_from_source(str(dag))
    assert os.path.exists(cached)
    assert not os.path.exists(importlib.util.cache_from_source(str(tmp_path / "broken.py")))
    probe = (
        "import importlib.machinery, sys; loader = importlib.machinery.SourceFileLoader('a_dag', sys.argv[1]);"
        "loader.source_to_code = lambda *a, **k: (_ for _ in ()).throw(SystemExit('compiled the source'));"
        "code = loader.get_code('a_dag'); ns = {}; exec(code, ns); print(ns['VALUE'])"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    found = subprocess.run([sys.executable, "-c", probe, str(dag)], capture_output=True, text=True, env=env, timeout=60)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "42"  # from the bytecode: compiling the source would have exited


def test_no_folder_is_nothing_to_do(tmp_path):
    assert compile_dag_files(None) is False
    assert compile_dag_files(tmp_path / "missing") is False
