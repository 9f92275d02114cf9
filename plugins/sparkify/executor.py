"""LocalExecutor that imports the tasks' libraries and the project's modules once, before it forks its workers.

On Linux, LocalExecutor forks its worker processes from the scheduler, and each worker forks a
process per task. A module imported before the workers are forked is in every task process for
free; one imported by the task is imported again by every task: the warehouse driver
(redshift_connector) and the provider hooks cost about 0.3-0.8 s of CPU per task on a 2-core
machine, more than most of the tasks' SQL, and the `sparkify` package another 0.1-0.2 s.

A change to `plugins/sparkify` still takes effect without restarting the scheduler: before a
worker takes a task, it compares the preloaded project modules' files with what was imported, and
if any changed or went away it forgets them all, so the task imports the package afresh (until
the scheduler restarts and preloads it again). The DAG files are parsed afresh by every task
anyway. A package upgrade needs a restart, as it always does.

Set `[core] executor = sparkify.executor.PreloadingLocalExecutor` (`make up` and Compose do).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

from airflow.executors.local_executor import LocalExecutor

# What the Sparkify tasks import when they run (and DAG parsing, for the Asset URI handlers).
PRELOADED_MODULES = (
    "redshift_connector",
    "airflow.providers.amazon.aws.hooks.redshift_sql",
    "airflow.providers.amazon.aws.hooks.s3",
    "airflow.providers.amazon.aws.sensors.s3",
    "airflow.providers.common.sql.hooks.sql",
    "airflow.providers.common.sql.operators.sql",
    "sqlparse",
    "yaml",
    # Airflow's @task decorators (with the standard provider's): every DAG file that uses @task imports them
    # when it is parsed, and every task process parses its DAG file again.
    "airflow.sdk.definitions.decorators",
    # `retry_policy=` of the DAG's begin task: airflow.sdk imports it lazily, in every parse.
    "airflow.sdk.definitions.retry_policy",
)
# The project's modules that the DAG files and the tasks import (with what they import in turn).
PROJECT_MODULES = (
    "sparkify.operators",
    "sparkify.assets",
    "sparkify.config",
    "sparkify.dag_defaults",
    "sparkify.late_run",
    "sparkify.pools",
    "sparkify.quality_config",
    "sparkify.staging",
    "sparkify.ddl",
    "sparkify.warehouse",
    "sparkify.redshift_hook",
    "sparkify.lineage",
    "sparkify.retry_policy",
    "sparkify.window",
    "sparkify.run_note",
    "sparkify.quality_page",
    "sparkify.boto_s3_filesystem",
    "sparkify.s3_hook",
)
PROJECT_PACKAGE = "sparkify"
log = logging.getLogger(__name__)


def preload(modules: tuple[str, ...] = PRELOADED_MODULES) -> list[str]:
    """Import `modules` (a missing one is logged and skipped); returns those imported."""
    loaded = []
    for name in modules:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except ImportError as error:  # an optional provider that is not installed: its tasks import it themselves
            log.warning("Not preloading %s: %s", name, error)
    try:  # jsonschema resolves its meta-schema on the first Param a process validates: every DAG parse has Params
        from airflow.sdk import Param

        Param(None, type=["null", "string"], pattern="^.*$").resolve()
    except Exception as error:  # best effort: parsing validates them itself
        log.warning("Not preloading the Param validator: %s", error)
    try:  # the Asset URI normalizers that every DAG with an Asset loads when it is parsed
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        ProvidersManagerTaskRuntime().initialize_providers_asset_uri_resources()
    except Exception as error:  # best effort: parsing loads them itself
        log.warning("Not preloading the Asset URI handlers: %s", error)
    return loaded


def project_modules(package: str = PROJECT_PACKAGE) -> dict[str, tuple[str, int, int]]:
    """The imported modules of `package`, each with its file's path, mtime and size."""
    found = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and _in_package(name, package):
            try:
                status = os.stat(path)
            except OSError:
                continue
            found[name] = (path, status.st_mtime_ns, status.st_size)
    return found


def changed_modules(snapshot: dict[str, tuple[str, int, int]]) -> list[str]:
    """The modules of `snapshot` whose file changed or went away since."""
    changed = []
    for name, (path, mtime, size) in snapshot.items():
        try:
            status = os.stat(path)
        except OSError:
            changed.append(name)
            continue
        if (status.st_mtime_ns, status.st_size) != (mtime, size):
            changed.append(name)
    return changed


def preload_project(modules: tuple[str, ...] = PROJECT_MODULES) -> dict[str, tuple[str, int, int]]:
    """Import the project's modules and load S3's models into sparkify.s3_hook's shared loader; returns what
    was imported (see project_modules). On any error, nothing of the project stays imported: the tasks
    import it themselves, and report the error."""
    try:
        for name in modules:
            importlib.import_module(name)
    except Exception as error:
        log.warning("Not preloading the project's modules: %s", error)
        forget()
        return {}
    try:  # S3's botocore models, which every S3 task's first client would read and decode again
        from sparkify.s3_hook import preload_s3_models

        preload_s3_models()
    except Exception as error:  # best effort: the tasks load them themselves
        log.warning("Not preloading S3's models: %s", error)
    return project_modules()


def forget(package: str = PROJECT_PACKAGE) -> None:
    """Drop every module of `package`, not only the changed ones: the others hold references to them."""
    for name in [n for n in sys.modules if _in_package(n, package)]:
        del sys.modules[name]


def _in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


class FreshProjectModulesQueue:
    """The workers' end of the task queue: before a worker takes a task, the preloaded project
    modules are forgotten if any of their files changed, so the task imports the new code."""

    def __init__(self, queue: Any, snapshot: dict[str, tuple[str, int, int]], package: str = PROJECT_PACKAGE) -> None:
        self._queue = queue
        self._snapshot = snapshot
        self._package = package

    def get(self) -> Any:
        workload = self._queue.get()
        if self._snapshot:
            changed = changed_modules(self._snapshot)
            if changed:
                log.info(
                    "%s changed since the scheduler started: tasks import the project afresh "
                    "(restart the scheduler to preload it again).",
                    ", ".join(sorted(changed)[:5]),
                )
                forget(self._package)
                self._snapshot = {}
        return workload

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


class PreloadingLocalExecutor(LocalExecutor):
    """LocalExecutor whose forked workers (and so every task process) start with PRELOADED_MODULES and
    PROJECT_MODULES imported."""

    _project_snapshot: dict[str, tuple[str, int, int]] = {}

    def start(self) -> None:
        if self.is_mp_using_fork:
            preload()
            self._project_snapshot = preload_project()
        super().start()

    def _spawn_worker(self) -> None:
        if not self._project_snapshot:
            super()._spawn_worker()
            return
        queue = self.activity_queue  # the worker reads its tasks from what this names when it is forked
        self.activity_queue = FreshProjectModulesQueue(queue, self._project_snapshot)  # type: ignore[assignment]
        try:
            super()._spawn_worker()
        finally:
            self.activity_queue = queue
