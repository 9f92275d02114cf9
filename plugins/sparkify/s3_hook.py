"""The Amazon provider's S3Hook, told which operator calls it, with S3's service model read once per process.

- **The caller.** The provider puts the calling operator's class name in every client's user agent,
  and finds it with `inspect.stack()`, which reads the source of every frame of Airflow's deep task
  stack: about 0.2 s of CPU per client, measured with py-spy in a 4-run backfill (10 % of the task
  processes' CPU). This hook is given the name instead.
- **The service model.** Every boto3 session reads and decodes botocore's JSON models (S3's API, its
  endpoint rules, the partitions) again when it makes its first client: 0.08 s of CPU per client in a
  fresh task process, and the largest single cost of the S3 tasks in a backfill (py-spy: a quarter of
  their CPU). This hook's sessions share one botocore data loader, as the provider already does for its
  async sessions; `preload_s3_models()` fills it before the executor forks, so a task's client costs
  0.02 s. The loader is registered through boto3's `Session._session`, the botocore session it wraps
  (boto3 has no public accessor); `tests/integration/test_s3_hook_caller.py` pins it.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
import botocore.loaders
from airflow.providers.amazon.aws.hooks.s3 import S3Hook

# Read-only after loading: botocore hands the same dicts to every client of a session anyway. Clients only:
# a boto3 resource reads its models through the loader its session made first. AWS_DATA_PATH (extra model
# folders) is honoured as botocore's own session loader honours it.
SHARED_LOADER = botocore.loaders.create_loader(os.environ.get("AWS_DATA_PATH"))


def share_models(session: Any) -> Any:
    """`session` (a boto3 Session) reading botocore's models through SHARED_LOADER; other sessions are unchanged."""
    if isinstance(session, boto3.session.Session):
        session._session.register_component("data_loader", SHARED_LOADER)
    return session


def preload_s3_models() -> None:
    """Load S3's models into SHARED_LOADER by making a client (no request is sent)."""
    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="preload", aws_secret_access_key="-")
    share_models(session).client("s3")


class CallerNamedS3Hook(S3Hook):
    """S3Hook whose clients name `caller` in their user agent (``Caller/<caller>``) without inspecting the
    stack, and whose sessions share SHARED_LOADER.

    :param caller: The calling operator's class name.
    """

    def __init__(self, *args: Any, caller: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.caller = caller

    def _get_caller(self, target_function_name: str = "execute") -> str:
        return self.caller

    def get_session(self, region_name: str | None = None, deferrable: bool = False) -> boto3.session.Session:
        return share_models(super().get_session(region_name=region_name, deferrable=deferrable))
