"""The local Data API endpoint: an HTTP server on 127.0.0.1 in a thread of this process, started and stopped."""

from __future__ import annotations

import threading

from psycopg import conninfo

from local_stack.processes import StackError, free_port
from local_stack.redshift_data.inputs import Warehouse
from local_stack.redshift_data.operations import Operations
from local_stack.redshift_data.protocol import DataApiHttpServer
from local_stack.redshift_data.runner import StatementRunner
from local_stack.redshift_data.statements import StatementStore

DEFAULT_WORKGROUP = "sparkify"
DEFAULT_CLUSTER = "sparkify-dwh"  # the infra DAG's default cluster identifier
MAX_ACTIVE_STATEMENTS = 20  # below the emulator's 100 sessions, which Airflow shares
PAGE_ROWS = 1000  # rows in a page of GetStatementResult (the API pages by size, up to 100 MB)


class DataApiServer:
    """The `redshift-data` API for the Redshift emulator reached by `dsn` (its login; never logged)."""

    def __init__(
        self,
        dsn: str,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        workgroup_name: str = DEFAULT_WORKGROUP,
        cluster_identifier: str = DEFAULT_CLUSTER,
        max_active: int = MAX_ACTIVE_STATEMENTS,
        page_rows: int = PAGE_ROWS,
    ) -> None:
        self.host, self.port = host, port or free_port()
        self.warehouse = Warehouse(
            workgroup_name, cluster_identifier, str(conninfo.conninfo_to_dict(dsn).get("user") or "")
        )
        self.store = StatementStore(max_active)
        self.runner = StatementRunner(dsn)
        self.operations = Operations(self.warehouse, self.runner, self.store, page_rows)
        self._http: DataApiHttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        if self._http is not None:
            return
        try:
            self._http = DataApiHttpServer((self.host, self.port), self.operations)
        except OSError as error:
            raise StackError(f"The local Data API cannot listen on {self.host}:{self.port}: {error.strerror}") from None
        self._thread = threading.Thread(target=self._http.serve_forever, name="data-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop answering, and cancel the statements still running."""
        if self._http is None:
            return
        self._http.shutdown()
        self._http.server_close()
        self._http = None
        for statement in self.store.newest_first():
            self.runner.cancel(statement)

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (`python -m local_stack.redshift_data`)."""
        self.start()
        assert self._thread is not None
        try:
            self._thread.join()
        finally:
            self.stop()
