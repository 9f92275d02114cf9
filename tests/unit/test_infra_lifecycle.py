"""Which steps each infra action takes from each cluster status: idempotent, or a clear refusal."""

from __future__ import annotations

import pytest

from sparkify.infra.lifecycle import MISSING, ClusterStateError, steps_for


@pytest.mark.parametrize(
    ("action", "status", "steps"),
    [
        ("create", MISSING, ["ensure_iam_role", "ensure_security_group", "wait_until_available"]),
        ("create", None, ["ensure_iam_role", "ensure_security_group", "wait_until_available"]),
        ("create", "creating", ["ensure_iam_role", "wait_until_available"]),
        ("create", "available", ["ensure_iam_role", "wait_until_available"]),
        ("create", "modifying", ["ensure_iam_role", "wait_until_available"]),
        ("pause", "available", ["pause_cluster", "wait_until_paused"]),
        ("pause", "pausing", ["wait_until_paused"]),
        ("pause", "paused", ["wait_until_paused"]),
        ("resume", "paused", ["resume_cluster", "wait_until_resumed"]),
        ("resume", "resuming", ["wait_until_resumed"]),
        ("resume", "available", ["wait_until_resumed"]),
        ("delete", "available", ["delete_cluster", "wait_until_deleted"]),
        ("delete", "paused", ["delete_cluster", "wait_until_deleted"]),
        ("delete", "deleting", ["wait_until_deleted"]),
        ("delete", MISSING, ["wait_until_deleted"]),
    ],
)
def test_steps(action, status, steps):
    assert steps_for(action, status, "sparkify-dwh") == steps


@pytest.mark.parametrize(
    ("action", "status", "message"),
    [
        ("create", "paused", "exists and is paused: trigger sparkify_infra with action 'resume'"),
        ("create", "deleting", "is being deleted"),
        ("pause", MISSING, "does not exist, so it cannot be paused"),
        ("pause", "creating", "is 'creating'; it can be paused once it is available"),
        ("resume", MISSING, "does not exist, so it cannot be resumed"),
        ("resume", "modifying", "is 'modifying'; it can be resumed once it is paused or resuming or available"),
        ("reboot", "available", "Unknown action 'reboot'"),
    ],
)
def test_refusals_say_what_to_do(action, status, message):
    with pytest.raises(ClusterStateError, match=message):
        steps_for(action, status, "sparkify-dwh")
