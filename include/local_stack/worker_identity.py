"""The hostname a Celery worker of the local stack reports to Airflow (`[core] hostname_callable`).

Both local workers run on one machine, so `socket.getfqdn()` would give them the same name, and a
task instance's `hostname` could not tell them apart. Each worker runs with SPARKIFY_WORKER_HOSTNAME
set (sparkify-worker-1, sparkify-worker-2); any other process gets the machine's name, as Airflow's
default does.
"""

from __future__ import annotations

import os
import socket


def worker_hostname() -> str:
    return os.environ.get("SPARKIFY_WORKER_HOSTNAME") or socket.getfqdn()
