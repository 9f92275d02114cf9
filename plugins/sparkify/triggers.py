"""S3KeysExistTrigger: wait in the triggerer until every given S3 key exists.

The Amazon provider's S3KeyTrigger needs aiobotocore, which the project does not install; this one
polls with the provider's (synchronous) S3Hook in a worker thread, through the same AWS connection
as the tasks, so the triggerer's event loop never blocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class S3KeysExistTrigger(BaseTrigger):
    """Fire {"status": "success"} once every key exists in the bucket; {"status": "error"} on an S3 error."""

    def __init__(
        self,
        *,
        bucket_name: str,
        keys: Sequence[str],
        aws_conn_id: str | None,
        region_name: str | None = None,
        poke_interval: float = 30.0,
    ) -> None:
        super().__init__()
        self.bucket_name = bucket_name
        self.keys = list(keys)
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "sparkify.triggers.S3KeysExistTrigger",
            {
                "bucket_name": self.bucket_name,
                "keys": self.keys,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            try:
                missing = await asyncio.to_thread(self.missing_keys)
            except Exception as error:  # the task resumes and raises it: S3 errors retry
                yield TriggerEvent({"status": "error", "message": f"{type(error).__name__}: {error}"})
                return
            if not missing:
                yield TriggerEvent({"status": "success", "keys": self.keys})
                return
            self.log.info(
                "Still missing in s3://%s: %s; next check in %ss",
                self.bucket_name,
                ", ".join(missing),
                self.poke_interval,
            )
            await asyncio.sleep(self.poke_interval)

    def missing_keys(self) -> list[str]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        hook = S3Hook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)
        return [key for key in self.keys if hook.head_object(key, self.bucket_name) is None]
