"""What `make run` and `make demo` print while a run goes: failures and retry waits, and with
`VERBOSE=1` (`make demo VERBOSE=1`) each task's start and end too.

The run itself (`dag.test()` in this process) writes its full output to the log file; these
lines go to the terminal. They come from task callbacks that the runner adds to its own copy of
the DAG (the DAG file is unchanged), so they run in the task's process at the moment it happens.
Airflow's "No tasks to run" warning, which `dag.test()` repeats every second while a task waits
for its retry, is kept in the log only when its list of tasks changes.
"""

from __future__ import annotations

import logging
import os
import re
import time
import types
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, TextIO

ERROR_LINES = 3
NO_TASKS_TO_RUN = "No tasks to run"
DAG_TEST_LOGGER = "airflow.sdk.definitions.dag"
TASK_IN_MESSAGE = re.compile(r"<TaskInstance: ([\w.-]+) ")  # "<TaskInstance: dag.task run_id [state] ...>"
VERBOSE_VARIABLE = "VERBOSE"  # `make demo VERBOSE=1`: make passes its command-line variables to the recipe


def verbose_requested(environ: dict[str, str] | None = None) -> bool:
    """Whether the user asked for the task-by-task view (VERBOSE=1, true or yes)."""
    value = (os.environ if environ is None else environ).get(VERBOSE_VARIABLE, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


class RunProgress:
    """Writes task events to `stream`, e.g. `07:00:03  stage_events failed (try 1 of 4): ...`.

    Failures and retries always; starts and ends only when `verbose`.
    """

    def __init__(
        self,
        stream: TextIO,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        verbose: bool = True,
    ) -> None:
        self.stream, self.clock, self.verbose = stream, clock, verbose
        self.started: dict[str, float] = {}

    def line(self, text: str) -> None:
        self.stream.write(f"  {self.clock():%H:%M:%S}  {text}\n")
        self.stream.flush()

    def attach(self, dag: Any) -> None:
        """Add this reporter's callbacks to every task of `dag` (once; a later attach replaces the reporter)."""
        for task in dag.tasks:
            for name, callback in (
                ("on_execute_callback", self.task_started),
                ("on_success_callback", self.task_done),
                ("on_failure_callback", self.task_failed),
                ("on_retry_callback", self.task_retrying),
            ):
                callbacks = [c for c in _as_list(getattr(task, name)) if not getattr(c, "_run_progress", False)]
                setattr(task, name, [*callbacks, _marked(callback)])

    # -- callbacks (never raise: they run inside the task) -----------------------
    def task_started(self, context: dict) -> None:
        self._safely(self._started, context)

    def task_done(self, context: dict) -> None:
        self._safely(self._done, context)

    def task_failed(self, context: dict) -> None:
        self._safely(self._failed, context, retrying=False)

    def task_retrying(self, context: dict) -> None:
        self._safely(self._failed, context, retrying=True)

    def _started(self, context: dict) -> None:
        ti = context["ti"]
        self.started[ti.task_id] = time.monotonic()
        if self.verbose:
            self.line(f"{ti.task_id} started{_try(ti, context)}")

    def _done(self, context: dict) -> None:
        ti = context["ti"]
        elapsed = self._elapsed(ti.task_id)
        if self.verbose:
            self.line(f"{ti.task_id} done ({elapsed})")

    def _failed(self, context: dict, retrying: bool) -> None:
        ti = context["ti"]
        head = f"{ti.task_id} failed{_try(ti, context)} after {self._elapsed(ti.task_id)}"
        if retrying:
            due = retry_due(context, self.clock())
            wait = max(timedelta(0), due - self.clock())
            head += f"; retry due at {due:%H:%M:%S} UTC (in {_duration(wait.total_seconds())})"
        else:
            head += "; no retry" if _is_fail_fast(context) else ""
        self.line(head + ":")
        for text in error_lines(context.get("exception")):
            self.line(f"    {text}")

    def _elapsed(self, task_id: str) -> str:
        began = self.started.pop(task_id, None)
        return _duration(time.monotonic() - began) if began is not None else "?"

    def _safely(self, handler: Callable[..., None], context: dict, **kwargs: Any) -> None:
        try:
            handler(context, **kwargs)
        except Exception as error:  # progress must never change a task's outcome
            logging.getLogger(__name__).warning("run progress: %s: %s", type(error).__name__, error)


def retry_due(context: dict, now: datetime) -> datetime:
    """When Airflow will retry the task: its own next_retry_datetime, with the task ending now."""
    from airflow.models.taskinstance import TaskInstance

    ti, task = context["ti"], context["task"]
    stand_in = types.SimpleNamespace(
        task=task,
        try_number=ti.try_number,
        retry_delay_override=None,
        end_date=now,
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        logical_date=context.get("logical_date"),
        log=logging.getLogger(__name__),
    )
    return TaskInstance.next_retry_datetime(stand_in)  # type: ignore[arg-type]  # it reads only these fields


def error_lines(exception: Any, limit: int = ERROR_LINES) -> list[str]:
    """The first lines of an error, as `Type: message`."""
    if exception is None:
        return ["(no error recorded)"]
    text = f"{type(exception).__name__}: {exception}".strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[:limit] + ([f"... ({len(lines) - limit} more lines in the log)"] if len(lines) > limit else [])


class RepeatFilter(logging.Filter):
    """Drops a "No tasks to run" warning that names the same tasks as the previous one (in any order)."""

    def __init__(self) -> None:
        super().__init__()
        self.last: frozenset[str] | None = None
        self.seen = self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith(NO_TASKS_TO_RUN):
            return True
        self.seen += 1
        tasks = frozenset(TASK_IN_MESSAGE.findall(message)) or frozenset([message])
        repeated, self.last = tasks == self.last, tasks
        self.dropped += repeated
        return not repeated


def quiet_repeats() -> RepeatFilter:
    """Install the RepeatFilter on dag.test()'s logger (once); returns it."""
    logger = logging.getLogger(DAG_TEST_LOGGER)
    for existing in logger.filters:
        if isinstance(existing, RepeatFilter):
            return existing
    repeat_filter = RepeatFilter()
    logger.addFilter(repeat_filter)
    return repeat_filter


def _try(ti: Any, context: dict) -> str:
    task = context.get("task")
    retries = getattr(task, "retries", 0) or 0
    return f" (try {ti.try_number} of {retries + 1})" if retries else ""


def _is_fail_fast(context: dict) -> bool:
    """Whether Airflow failed the task without retries: AirflowFailException, or its retry policy said so."""
    from airflow.sdk import RetryAction
    from airflow.sdk.exceptions import AirflowFailException

    exception, task = context.get("exception"), context.get("task")
    if isinstance(exception, AirflowFailException):
        return True
    policy = getattr(task, "retry_policy", None)
    if policy is None or not isinstance(exception, BaseException):
        return False
    try_number, max_tries = getattr(context.get("ti"), "try_number", 1), getattr(task, "retries", 0)
    return policy.evaluate(exception, try_number, max_tries, context).action == RetryAction.FAIL


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _as_list(callbacks: Any) -> list:
    if not callbacks:
        return []
    return list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]


def _marked(callback: Callable) -> Callable:
    def progress_callback(context: dict) -> None:
        callback(context)

    progress_callback._run_progress = True  # type: ignore[attr-defined]
    return progress_callback
