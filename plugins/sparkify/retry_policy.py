"""Which failures Airflow retries: transient ones, with exponential backoff; deterministic ones fail at once.

A deterministic failure (bad data, a failed `error` check, bad configuration or params) gives the
same result on every try, so the task raises `AirflowFailException`, which Airflow never retries
(or, where its log must show no traceback, a SystemExit that the task's `fail_at_once_on` policy fails).
Everything else (a dropped connection, an S3 error, throttling) is retried by the DAGs'
`default_args`: the delay doubles from `retry_delay` up to `max_retry_delay`.
The README's "Failures and retries" section has the table of which is which.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import ExceptionRetryPolicy

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


def fail_at_once_on(*errors: type[BaseException]) -> ExceptionRetryPolicy:
    """A task's `retry_policy` that fails it without retries on any of `errors` (also subclasses of
    BaseException, which AirflowFailException cannot be); other errors keep the task's retries."""
    from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

    return ExceptionRetryPolicy(
        rules=[RetryRule(exception=list(errors), action=RetryAction.FAIL, reason="retrying cannot fix it")]
    )


# Serialization failures (Redshift's error 1023, PostgreSQL's 40001, and a deadlock, 40P01) are transient:
# the transaction is retried in the task (`sparkify.warehouse.run_transaction`), then the task is.
SERIALIZATION_SQLSTATES = frozenset({"40001", "40P01"})
SERIALIZATION_ATTEMPTS = 5
SERIALIZATION_BASE_DELAY = 1.0  # seconds; doubled per attempt, with jitter of ±50%
_TABLE_ID = re.compile(r"violation on table - (\d+)")


@dataclass(frozen=True)
class SerializationFailure:
    """A transaction that could not be serialized with a concurrent one; `table_id` as Redshift's error gives it."""

    sqlstate: str
    table_id: int | None
    message: str


def serialization_failure(error: BaseException) -> SerializationFailure | None:
    """`error` as a serialization failure (Redshift's `1023`, or SQLSTATE 40001/40P01), or None if it is another error.

    redshift_connector raises its errors with the server's ErrorResponse fields as a dict (C: SQLSTATE,
    M: message, D: detail); other drivers' texts are matched on the same words."""
    fields = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    sqlstate = str(fields.get("C", getattr(error, "sqlstate", None) or ""))
    message, detail = str(fields.get("M", "")), str(fields.get("D", ""))
    text = f"{message} {detail}" if fields else str(error)
    redshift = message.strip() == "1023" or "Serializable isolation violation" in text
    if not redshift and sqlstate not in SERIALIZATION_SQLSTATES:
        return None
    found = _TABLE_ID.search(text)
    return SerializationFailure(sqlstate or "XX000", int(found.group(1)) if found else None, text.strip()[:500])


def serialization_backoff(attempt: int, base: float = SERIALIZATION_BASE_DELAY) -> float:
    """Seconds to wait after failed attempt `attempt` (1, 2, ...): base × 2^(attempt-1), ±50% jitter."""
    return base * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not a secret
