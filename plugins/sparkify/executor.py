"""LocalExecutor that imports the tasks' libraries once, before it forks its workers.

On Linux, LocalExecutor forks its worker processes from the scheduler, and each worker forks a
process per task. A module imported before the workers are forked is in every task process for
free; one imported by the task is imported again by every task: the warehouse driver
(redshift_connector) and the provider hooks cost about 0.3-0.8 s of CPU per task on a 2-core
machine, more than most of the tasks' SQL. Only third-party modules are preloaded, so a change
to the DAGs or to `plugins/sparkify` still takes effect without restarting the scheduler; a
package upgrade needs a restart anyway.

Set `[core] executor = sparkify.executor.PreloadingLocalExecutor` (`make up` and Compose do).
"""

from __future__ import annotations

import importlib
import logging

from airflow.executors.local_executor import LocalExecutor

# What the Sparkify tasks import when they run (and DAG parsing, for the Asset URI handlers).
PRELOADED_MODULES = (
    "redshift_connector",
    "airflow.providers.amazon.aws.hooks.redshift_sql",
    "airflow.providers.amazon.aws.hooks.s3",
    "airflow.providers.common.sql.hooks.sql",
    "airflow.providers.common.sql.operators.sql",
    "sqlparse",
    "yaml",
    # Airflow's @task decorators (with the standard provider's): every DAG file that uses @task imports them
    # when it is parsed, and every task process parses its DAG file again.
    "airflow.sdk.definitions.decorators",
)
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
    try:  # the Asset URI normalizers that every DAG with an Asset loads when it is parsed
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        ProvidersManagerTaskRuntime().initialize_providers_asset_uri_resources()
    except Exception as error:  # best effort: parsing loads them itself
        log.warning("Not preloading the Asset URI handlers: %s", error)
    return loaded


class PreloadingLocalExecutor(LocalExecutor):
    """LocalExecutor whose forked workers (and so every task process) start with PRELOADED_MODULES imported."""

    def start(self) -> None:
        if self.is_mp_using_fork:
            preload()
        super().start()
