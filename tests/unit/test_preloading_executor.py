"""The scheduler's executor: LocalExecutor whose forked workers start with the tasks' libraries imported."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import PROJECT_ROOT

_PROBE = r"""
import json, sys
import airflow.sdk  # what a worker has before preloading
from local_stack.airflow_services import PRELOADING_LOCAL_EXECUTOR
from airflow.executors.executor_loader import ExecutorLoader
from airflow.executors.executor_utils import ExecutorName
from airflow.executors.local_executor import LocalExecutor
from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
executor, _ = ExecutorLoader.import_executor_cls(ExecutorName(module_path=PRELOADING_LOCAL_EXECUTOR))  # as Airflow does
from sparkify.executor import PRELOADED_MODULES, PROJECT_MODULES, preload, preload_project
before = [m for m in PRELOADED_MODULES if m in sys.modules]
loaded = preload()
project = preload_project()
handlers = ProvidersManagerTaskRuntime()._asset_uri_handlers
import boto3
from sparkify.s3_hook import SHARED_LOADER, share_models
reads = []
real_load = SHARED_LOADER.file_loader.load_file
SHARED_LOADER.file_loader.load_file = lambda path: reads.append(path) or real_load(path)
session = boto3.session.Session(region_name="us-west-2", aws_access_key_id="probe", aws_secret_access_key="-")
share_models(session).client("s3")  # as a task's hook makes its client after the fork
print(json.dumps({"model_reads": reads,
                  "subclass": issubclass(executor, LocalExecutor), "before": before, "loaded": loaded,
                  "after": [m for m in PRELOADED_MODULES if m in sys.modules], "all": list(PRELOADED_MODULES),
                  "s3_handler": "s3" in handlers, "project": sorted(project), "wanted": list(PROJECT_MODULES)}))
"""


def test_the_executor_is_a_local_executor_that_preloads_the_task_libraries():
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["subclass"]
    assert "redshift_connector" not in found["before"]  # so the preload is what imports it
    assert found["loaded"] == found["after"] == found["all"]
    assert found["s3_handler"]  # the Asset URI normalizers every DAG with an Asset loads when parsed
    assert set(found["wanted"]) <= set(found["project"])  # each project module imported, with its file
    assert found["model_reads"] == []  # S3's models were loaded before: a task's client reads no JSON file


_FRESHNESS_PROBE = r"""
import json, multiprocessing, os, sys
from multiprocessing import SimpleQueue
sys.path.insert(0, sys.argv[1])
from sparkify.executor import FreshProjectModulesQueue, project_modules
import fakepkg.mod  # preloaded, as the scheduler preloads sparkify
snapshot = project_modules("fakepkg")
module = os.path.join(sys.argv[1], "fakepkg", "mod.py")
if sys.argv[2] == "change":
    with open(module, "w") as f:
        f.write("VALUE = 'edited'\n")
    stat = os.stat(module)
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

def worker(tasks, results):  # what a LocalExecutor worker does: take a task, then the task imports the code
    tasks.get()
    import fakepkg.mod
    results.put(fakepkg.mod.VALUE)

tasks, results = SimpleQueue(), SimpleQueue()
tasks.put("a task")
queue = FreshProjectModulesQueue(tasks, snapshot, "fakepkg")
child = multiprocessing.get_context("fork").Process(target=worker, args=(queue, results))
child.start(); child.join()
print(json.dumps({"snapshot": sorted(snapshot), "value": results.get()}))
"""


def _freshness(tmp_path, change: str) -> dict:
    package = tmp_path / "fakepkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text("VALUE = 'preloaded'\n")
    result = subprocess.run(
        [sys.executable, "-c", _FRESHNESS_PROBE, str(tmp_path), change],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_worker_keeps_the_preloaded_project_modules_while_their_files_are_unchanged(tmp_path):
    found = _freshness(tmp_path, "keep")
    assert found == {"snapshot": ["fakepkg", "fakepkg.mod"], "value": "preloaded"}


def test_a_worker_forgets_the_preloaded_project_modules_once_a_file_changed(tmp_path):
    assert _freshness(tmp_path, "change")["value"] == "edited"
