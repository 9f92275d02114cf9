"""Which AWS resources `sparkify_infra` created: it tags them, and changes nothing without its tags.

A cluster, security group or IAM role that happens to have the name in the run's params,
but was made by someone else (or by hand), is never deleted or detached, and `create`
neither attaches a policy to it nor opens a port in it, unless the run's param
`adopt_existing` is true. Adopting tags the resource `adopted-by=sparkify_infra` (not
`managed-by`), so that `delete` later removes only what `create` added to it, never the
resource itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

TAGS = {"project": "sparkify", "managed-by": "sparkify_infra"}
ADOPTED_TAGS = {"adopted-by": "sparkify_infra"}
ADOPT_PARAM = "adopt_existing"


class NotManagedError(AirflowFailException):
    """A resource that `sparkify_infra` did not create; the message says what to do instead.

    Deterministic: a retry finds the same tags, so the task fails at once."""


def tag_list(tags: Mapping[str, str] = TAGS) -> list[dict[str, str]]:
    """`tags` in the form Redshift, IAM and EC2 take and return: [{"Key": ..., "Value": ...}]."""
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _has(tags: Iterable[Mapping[str, Any]] | None, wanted: Mapping[str, str]) -> bool:
    present = {(tag.get("Key"), tag.get("Value")) for tag in tags or []}
    return set(wanted.items()) <= present


def is_managed(tags: Iterable[Mapping[str, Any]] | None) -> bool:
    """Whether a resource's tags include every one of TAGS: `sparkify_infra` created it."""
    return _has(tags, TAGS)


def is_adopted(tags: Iterable[Mapping[str, Any]] | None) -> bool:
    """Whether a resource was adopted by a `create` run with `adopt_existing`: made by someone else."""
    return not is_managed(tags) and _has(tags, ADOPTED_TAGS)


def adopt_existing(params: Mapping[str, Any]) -> bool:
    """The run's `adopt_existing` param (default false), checked to be a boolean."""
    value = params.get(ADOPT_PARAM, False)
    if not isinstance(value, bool):
        raise ValueError(f"Invalid {ADOPT_PARAM} {value!r}: expected true or false.")
    return value


def may_change(kind: str, name: str, tags: Iterable[Mapping[str, Any]] | None, adopt: bool) -> bool:
    """Whether `create` may change an existing resource; returns True when it must adopt it first.

    Raises NotManagedError, which names the resource, the missing tags and the param, for a
    resource that is neither `sparkify_infra`'s nor adopted, unless `adopt` is true.
    """
    if is_managed(tags) or is_adopted(tags):
        return False
    if adopt:
        return True
    present = {tag.get("Key"): tag.get("Value") for tag in tags or []}
    missing = ", ".join(f"{key}={value}" for key, value in TAGS.items() if present.get(key) != value)
    raise NotManagedError(
        f"{kind} {name!r} already exists and was not created by sparkify_infra (it lacks the tags {missing}), "
        f"so create changed nothing in it. Use another name in the params, or, to let sparkify_infra use it, "
        f"trigger create again with the param {ADOPT_PARAM}=true: it is then tagged "
        f"{', '.join(f'{k}={v}' for k, v in ADOPTED_TAGS.items())}, and delete later removes only what create "
        f"added to it, never the {kind.lower()} itself."
    )


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
