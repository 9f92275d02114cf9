"""The Amazon provider's RedshiftSQLHook, with sessions named by an application_name.

Without one, redshift_connector names every session after its caller with `inspect.stack()`, which
reads the source of every frame of Airflow's deep task stack: 0.3 to 0.5 s of CPU per connection,
measured with py-spy in a 4-run backfill, more than most of the tasks' SQL. A name also tells an
operator which task holds a session (Redshift's STV_SESSIONS, PostgreSQL's pg_stat_activity).
Imported when a task runs (it imports the provider), never when a DAG file is parsed.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

# PostgreSQL keeps the first 63 bytes of an application_name.
MAX_APPLICATION_NAME = 63


class NamedSessionsRedshiftSQLHook(RedshiftSQLHook):
    """RedshiftSQLHook whose connections carry `application_name`, unless the connection's extras set one.

    :param application_name: The sessions' name; cut to 63 bytes.
    """

    def __init__(self, *args: Any, application_name: str = "sparkify", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.application_name = application_name.encode()[:MAX_APPLICATION_NAME].decode(errors="ignore")

    def _get_conn_params(self) -> dict[str, str | int]:
        # get_conn() adds the connection's extras after these parameters, so an application_name there wins.
        return {"application_name": self.application_name, **super()._get_conn_params()}
