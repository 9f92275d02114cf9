"""`python -m local_stack.celery_worker celery worker ...`: the `airflow` CLI, local_stack.celery_compat loaded first.

`airflow celery worker` imports the provider's Celery modules before any executor is loaded, so
the compatibility shim (see celery_compat.py) has to be in place before the CLI starts.
"""

from __future__ import annotations

import sys

import local_stack.celery_compat  # noqa: F401  (the shim, before the provider's Celery modules)


def main() -> int:
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", *sys.argv[1:]]
    return airflow_main() or 0


if __name__ == "__main__":
    sys.exit(main())
