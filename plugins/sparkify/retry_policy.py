"""Which failures Airflow retries: transient ones, with exponential backoff; deterministic ones fail at once.

A deterministic failure (bad data, a failed `error` check, bad configuration or params) gives the
same result on every try, so the task raises `AirflowFailException`, which Airflow never retries.
Everything else (a dropped connection, an S3 error, throttling) is retried by the DAGs'
`default_args`: the delay doubles from `retry_delay` up to `max_retry_delay`.
The README's "Failures and retries" section has the table of which is which.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

# Airflow 3.3 reads retry_exponential_backoff as a multiplier: True would be 1.0, a constant delay.
BACKOFF_MULTIPLIER = 2.0

TRANSIENT_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay": timedelta(minutes=1),  # then about 2, 4 minutes (Airflow adds up to 100% jitter)
    "retry_exponential_backoff": BACKOFF_MULTIPLIER,
    "max_retry_delay": timedelta(minutes=15),
}


@contextmanager
def fail_fast(what: str, *errors: type[BaseException]) -> Iterator[None]:
    """Raise any of `errors` inside the block as AirflowFailException ("<what>: <error>"): no retries."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except AirflowFailException:
        raise
    except errors as error:
        raise AirflowFailException(f"{what}: {error}") from error
