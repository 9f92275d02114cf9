"""WindowFilesSensor: wait in the triggerer for the S3 files of the run's window, up to the late-data timeout."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from sparkify.durations import DurationSettingError, describe_duration
from sparkify.late_data import (
    DATA_COMPLETE_VARIABLE,
    LateDataSettingError,
    data_complete,
    late_data_timeout,
    newest_day_file,
    static_prefix,
    wait_deadline,
)
from sparkify.s3_hook import CallerNamedS3Hook
from sparkify.s3copy.spec import expand_keys
from sparkify.triggers import S3KeysExistTrigger
from sparkify.window import RunWindow, run_window

if TYPE_CHECKING:
    from airflow.sdk import Context


class WindowFilesSensor(S3KeySensor):
    """
    Wait for every S3 object the run's window needs, deferred in the triggerer (``S3KeysExistTrigger``,
    through the same AWS connection), until the window's end plus the Variable ``sparkify_late_data_timeout``
    (sparkify/late_data.py); then fail at once, naming the missing keys and the window.

    Present files pass at the first check, without deferring; a window whose wait is already over
    (a backfill of history) is checked once and never waits. When the Variable ``sparkify_data_complete`` is
    true (a bucket that receives no more files, as the local stack's sample), a missing file fails at once,
    naming the bucket's newest day file. S3 and connection errors retry.

    :param s3_bucket: Bucket of the files. (templated)
    :param s3_key: Key of the files; strftime directives such as ``%Y/%m/%Y-%m-%d`` expand once for
        every UTC day of the run's window, as in ``StageToRedshiftOperator``. (templated)
    :param poke_interval: Seconds between two checks while the task waits in the triggerer.
    """

    template_fields: Sequence[str] = (*S3KeySensor.template_fields, "s3_bucket", "s3_key")
    ui_color = "#e8d8f8"

    aws_hook_class = CallerNamedS3Hook  # S3KeySensor imports the provider's S3Hook anyway

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {**super()._hook_parameters, "caller": type(self).__name__}

    def __init__(self, *, s3_bucket: str, s3_key: str | Sequence[str], poke_interval: float = 30, **kwargs) -> None:
        super().__init__(bucket_key=[], bucket_name=s3_bucket, deferrable=True, poke_interval=poke_interval, **kwargs)
        self.s3_bucket = s3_bucket
        self.s3_key = s3_key

    def execute(self, context: Context) -> None:
        window, deadline = self._prepare(context)
        if self.poke(context):
            self.log.info("Every file of window %s is there: %s", window, ", ".join(self._uris(self.bucket_key)))
            return
        if self._data_complete:
            from sparkify.run_note import set_run_note

            message = self._no_data_message(window)
            set_run_note(context, message)  # the grid shows why the run ended, without opening the log
            raise AirflowFailException(message)
        remaining = (deadline - datetime.now(timezone.utc)).total_seconds()
        if remaining <= 0:
            raise AirflowFailException(self._late_message(window, deadline))
        self.timeout = remaining
        self.log.info(
            "Waiting in the triggerer until %s for %s (window %s)",
            deadline.isoformat(),
            ", ".join(self._uris(self._missing())),
            window,
        )
        self._defer()

    def _defer(self) -> None:
        self.defer(
            timeout=timedelta(seconds=self.timeout),
            trigger=S3KeysExistTrigger(
                bucket_name=str(self.bucket_name),
                keys=self.bucket_key,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                poke_interval=self.poke_interval,
            ),
            method_name="execute_complete",
        )

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context):
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowSensorTimeout:
            window, deadline = self._prepare(context)
            raise AirflowFailException(self._late_message(window, deadline)) from None

    def _prepare(self, context: Context) -> tuple[RunWindow, datetime]:
        """Set the keys to check from the window; returns the window and the end of the wait."""
        window = run_window(context)
        self.bucket_name = self.s3_bucket
        self.bucket_key = list(expand_keys(self.s3_key, window.days()))
        try:
            self._timeout = late_data_timeout()
            self._data_complete = data_complete()
        except (DurationSettingError, LateDataSettingError) as error:
            raise AirflowFailException(str(error)) from None  # retrying cannot fix a setting
        return window, wait_deadline(window.end, self._timeout)

    def _missing(self) -> list[str]:
        try:
            return [key for key in self.bucket_key if self.hook.head_object(key, self.bucket_name) is None]
        except Exception as error:  # only for the message: the keys are listed as they were asked for
            self.log.warning("Could not tell which files are missing: %s: %s", type(error).__name__, error)
            return list(self.bucket_key)

    def _late_message(self, window: RunWindow, deadline: datetime) -> str:
        missing = self._missing() or list(self.bucket_key)
        return (
            f"Late data: {', '.join(self._uris(missing))} still missing for the window {window}, "
            f"{describe_duration(self._timeout)} after the window's end ({deadline.isoformat()}; Airflow Variable "
            f"sparkify_late_data_timeout). Upload the file(s), then clear this task to run the window again."
        )

    def _no_data_message(self, window: RunWindow) -> str:
        missing = self._missing() or list(self.bucket_key)
        verb = "is" if len(missing) == 1 else "are"
        newest = self._newest_day_file()
        if newest is None:
            holds = f"s3://{self.bucket_name}/ holds no day file of {', '.join(self._templates())}"
            advice = "Upload the data first (on the local stack: make seed or make demo)"
        else:
            day, key = newest
            holds = f"the bucket's data ends on {day.isoformat()} (newest day file s3://{self.bucket_name}/{key})"
            advice = f"Trigger a window up to {day.isoformat()} 24:00 UTC from the form"
        return (
            f"No data for the {window.note()}: {holds}, and {', '.join(self._uris(missing))} {verb} missing. "
            f"The run does not wait for it: Airflow Variable {DATA_COMPLETE_VARIABLE} is true (this bucket "
            f"receives no new files). {advice}, or upload the file(s) and clear this task."
        )

    def _templates(self) -> list[str]:
        return [k for k in ([self.s3_key] if isinstance(self.s3_key, str) else list(self.s3_key)) if "%" in k]

    def _newest_day_file(self) -> tuple[date, str] | None:
        """The newest day file in the bucket (listed under each key template's fixed prefix), for a message."""
        found = []
        for template in self._templates():
            try:
                keys = self.hook.list_keys(bucket_name=self.bucket_name, prefix=static_prefix(template)) or []
            except Exception as error:  # only for the message
                self.log.warning("Could not list s3://%s/%s: %s", self.bucket_name, static_prefix(template), error)
                continue
            if (newest := newest_day_file(keys, template)) is not None:
                found.append(newest)
        return max(found) if found else None

    def _uris(self, keys: Sequence[str]) -> list[str]:
        return [f"s3://{self.bucket_name}/{key}" for key in keys]
