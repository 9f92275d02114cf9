"""Which AWS resources `sparkify_infra` created: it tags them, and deletes nothing without its tags.

A cluster, security group or IAM role that happens to have the name in the run's params,
but was made by someone else (or by hand), is never deleted or detached.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

TAGS = {"project": "sparkify", "managed-by": "sparkify_infra"}


class NotManagedError(RuntimeError):
    """A resource that `sparkify_infra` did not create; the message says what to do instead."""


def tag_list() -> list[dict[str, str]]:
    """TAGS in the form Redshift, IAM and EC2 take and return: [{"Key": ..., "Value": ...}]."""
    return [{"Key": key, "Value": value} for key, value in TAGS.items()]


def is_managed(tags: Iterable[Mapping[str, Any]] | None) -> bool:
    """Whether a resource's tags include every one of TAGS."""
    present = {(tag.get("Key"), tag.get("Value")) for tag in tags or []}
    return set(TAGS.items()) <= present


def require_managed_cluster(cluster: Mapping[str, Any]) -> None:
    """Refuse to delete a cluster that `sparkify_infra` did not create."""
    if is_managed(cluster.get("Tags")):
        return
    name = cluster["ClusterIdentifier"]
    wanted = " ".join(f"Key={key},Value={value}" for key, value in TAGS.items())
    raise NotManagedError(
        f"Cluster {name!r} was not created by sparkify_infra (it lacks the tags "
        f"{', '.join(f'{k}={v}' for k, v in TAGS.items())}), so sparkify_infra will not delete it. "
        f"Delete it yourself, or, if it is really this pipeline's, tag it first: aws redshift create-tags "
        f"--resource-name <cluster ARN> --tags {wanted}"
    )
