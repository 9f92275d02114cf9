"""Which tasks of `sparkify_infra` an action starts, given the cluster's current status.

`choose_steps` is a branch: it names every task it starts, including the sensor that
ends each path, whose trigger rule lets it run whether or not the step before it ran.

Every action is idempotent: creating an existing cluster only waits for it, pausing a
paused cluster only confirms it, deleting a missing cluster only removes what is left.
"""

from __future__ import annotations

ENSURE_IAM_ROLE = "ensure_iam_role"
ENSURE_SECURITY_GROUP = "ensure_security_group"
WAIT_UNTIL_AVAILABLE = "wait_until_available"
PAUSE_CLUSTER = "pause_cluster"
WAIT_UNTIL_PAUSED = "wait_until_paused"
RESUME_CLUSTER = "resume_cluster"
WAIT_UNTIL_RESUMED = "wait_until_resumed"
DELETE_CLUSTER = "delete_cluster"
WAIT_UNTIL_DELETED = "wait_until_deleted"

MISSING = "cluster_not_found"  # what RedshiftHook.cluster_status returns for no such cluster


class ClusterStateError(RuntimeError):
    """The cluster's status does not allow the action; the message says what to do."""


def steps_for(action: str, status: str | None, cluster_identifier: str) -> list[str]:
    """The task ids that `choose_steps` follows for `action` when the cluster is `status`."""
    status = status or MISSING
    name = f"Cluster {cluster_identifier!r}"
    if action == "create":
        if status == MISSING:
            return [ENSURE_IAM_ROLE, ENSURE_SECURITY_GROUP, WAIT_UNTIL_AVAILABLE]
        if status in ("paused", "pausing"):
            raise ClusterStateError(f"{name} exists and is {status}: trigger sparkify_infra with action 'resume'.")
        if status in ("deleting", "final-snapshot"):
            raise ClusterStateError(f"{name} is being deleted; create it again once it is gone.")
        return [ENSURE_IAM_ROLE, WAIT_UNTIL_AVAILABLE]  # it exists: only wait until it is available
    if action == "pause":
        return _transition(
            name,
            status,
            "paused",
            {
                "available": [PAUSE_CLUSTER, WAIT_UNTIL_PAUSED],
                "pausing": [WAIT_UNTIL_PAUSED],
                "paused": [WAIT_UNTIL_PAUSED],
            },
        )
    if action == "resume":
        return _transition(
            name,
            status,
            "resumed",
            {
                "paused": [RESUME_CLUSTER, WAIT_UNTIL_RESUMED],
                "resuming": [WAIT_UNTIL_RESUMED],
                "available": [WAIT_UNTIL_RESUMED],
            },
        )
    if action == "delete":
        if status in (MISSING, "deleting", "final-snapshot"):
            return [WAIT_UNTIL_DELETED]
        return [DELETE_CLUSTER, WAIT_UNTIL_DELETED]
    raise ClusterStateError(f"Unknown action {action!r}.")


def _transition(name: str, status: str, goal: str, steps: dict[str, list[str]]) -> list[str]:
    if status == MISSING:
        raise ClusterStateError(f"{name} does not exist, so it cannot be {goal}.")
    if status not in steps:
        raise ClusterStateError(f"{name} is {status!r}; it can be {goal} once it is {' or '.join(steps)}.")
    return steps[status]
