"""For live tests of late data: the local stack's Airflow sets `sparkify_data_complete` to true (its bucket gets no
new files, so a missing day file fails at once); a test whose file comes late, or never, sets it to false meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sparkify.late_data import DATA_COMPLETE_VARIABLE

# For a private Airflow's extra_env (an environment Variable wins over the one the stack stores).
LATE_DATA_ENV = {f"AIRFLOW_VAR_{DATA_COMPLETE_VARIABLE.upper()}": "false"}


@contextmanager
def awaiting_late_data(api) -> Iterator[None]:
    """Runs wait for late data, as on AWS, until the block ends; then the stack's value is back."""
    path = f"/api/v2/variables/{DATA_COMPLETE_VARIABLE}"
    before = api.get(path)["value"]
    api.request("PATCH", path, json={"key": DATA_COMPLETE_VARIABLE, "value": "false"}).raise_for_status()
    try:
        yield
    finally:
        api.request("PATCH", path, json={"key": DATA_COMPLETE_VARIABLE, "value": before}).raise_for_status()
