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
from sparkify.executor import PRELOADED_MODULES, preload
before = [m for m in PRELOADED_MODULES if m in sys.modules]
loaded = preload()
handlers = ProvidersManagerTaskRuntime()._asset_uri_handlers
print(json.dumps({"subclass": issubclass(executor, LocalExecutor), "before": before, "loaded": loaded,
                  "after": [m for m in PRELOADED_MODULES if m in sys.modules], "all": list(PRELOADED_MODULES),
                  "s3_handler": "s3" in handlers}))
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
