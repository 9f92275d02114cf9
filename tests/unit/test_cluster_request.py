"""The infra DAG's request: params, the ingress CIDR and the master user are checked before any AWS call."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from sparkify.infra.cluster_request import ClusterRequestError, cluster_request

PARAMS = {
    "action": "create",
    "cluster_identifier": "sparkify-dwh",
    "node_type": "dc2.large",
    "number_of_nodes": 4,
    "iam_role_name": "sparkify-redshift-s3-read",
    "ingress_cidr": None,
}
PASSWORD = "Sparkify2018pw"


def warehouse(**overrides) -> SimpleNamespace:
    fields = {"conn_id": "redshift", "login": "awsuser", "password": PASSWORD, "schema": "dev", "port": 5439}
    return SimpleNamespace(**{**fields, **overrides})


def test_a_create_request_carries_everything_create_cluster_needs():
    request = cluster_request(PARAMS, "203.0.113.0/24", warehouse())

    assert request.as_dict() == {
        "action": "create",
        "cluster_identifier": "sparkify-dwh",
        "node_type": "dc2.large",
        "number_of_nodes": 4,
        "iam_role_name": "sparkify-redshift-s3-read",
        "ingress_cidr": "203.0.113.0/24",
        "master_username": "awsuser",
        "db_name": "dev",
        "port": 5439,
        "cluster_type": "multi-node",
        "security_group_name": "sparkify-dwh-access",
        "skip_final_snapshot": False,
        "final_snapshot_identifier": None,
    }
    assert PASSWORD not in repr(request.as_dict())


def test_one_node_is_a_single_node_cluster_and_the_param_cidr_wins():
    request = cluster_request(
        {**PARAMS, "number_of_nodes": 1, "ingress_cidr": "198.51.100.7/32"}, "203.0.113.0/24", warehouse()
    )
    assert (request.cluster_type, request.ingress_cidr) == ("single-node", "198.51.100.7/32")


@pytest.mark.parametrize("action", ["pause", "resume", "delete"])
def test_other_actions_need_neither_cidr_nor_connection(action):
    request = cluster_request({**PARAMS, "action": action, "confirm_delete": "sparkify-dwh"})
    assert (request.action, request.ingress_cidr, request.master_username) == (action, None, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"action": "stop"}, "Unknown action 'stop'"),
        ({"action": None}, "Unknown action None"),
        ({"cluster_identifier": "Sparkify"}, "Invalid cluster_identifier 'Sparkify'"),
        ({"cluster_identifier": "spark--ify"}, "Invalid cluster_identifier"),
        ({"cluster_identifier": "sparkify-"}, "Invalid cluster_identifier"),
        ({"cluster_identifier": "1sparkify"}, "Invalid cluster_identifier"),
        ({"cluster_identifier": "s" * 64}, "Invalid cluster_identifier"),
        ({"node_type": "dc2 large; rm"}, "Invalid node_type"),
        ({"number_of_nodes": 0}, "Invalid number_of_nodes 0"),
        ({"number_of_nodes": 129}, "Invalid number_of_nodes"),
        ({"number_of_nodes": True}, "Invalid number_of_nodes"),
        ({"iam_role_name": "a role"}, "Invalid iam_role_name 'a role'"),
        ({"ingress_cidr": "203.0.113.5/24"}, "Invalid ingress CIDR '203.0.113.5/24'"),
        ({"ingress_cidr": "everywhere"}, "Invalid ingress CIDR"),
    ],
)
def test_bad_params_are_refused_with_the_param_named(change, message):
    with pytest.raises(ClusterRequestError, match=message.replace("(", r"\(")):
        cluster_request({**PARAMS, **change}, "203.0.113.0/24", warehouse())


def test_create_needs_a_cidr_from_the_param_or_the_variable():
    with pytest.raises(
        ClusterRequestError, match="ingress_cidr param or set the Airflow Variable sparkify_cluster_ingress_cidr"
    ):
        cluster_request(PARAMS, None, warehouse())


def test_ipv6_ranges_are_accepted():
    assert (
        cluster_request({**PARAMS, "ingress_cidr": "2001:db8::/32"}, None, warehouse()).ingress_cidr == "2001:db8::/32"
    )


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Short1", "8 to 64 characters"),
        ("alllowercase1", "an upper-case letter"),
        ("ALLUPPERCASE1", "a lower-case letter"),
        ("NoDigitsHere", "a digit"),
        ("Has/slash1A", "other than"),
        ("Has space1A", "other than"),
        ("Ümlaut123abc", "printable ASCII"),
        (None, "8 to 64 characters"),
    ],
)
def test_the_master_password_follows_redshift_rules_and_is_never_quoted(password, rule):
    with pytest.raises(ClusterRequestError) as raised:
        cluster_request(PARAMS, "203.0.113.0/24", warehouse(password=password))
    message = str(raised.value)
    assert rule in message and "connection 'redshift'" in message and "not shown" in message
    if password:
        assert password not in message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"login": None}, "has no login"),
        ({"schema": "Sparkify DB"}, "Invalid database name"),
        ({"schema": None}, "Invalid database name"),
        ({"port": 80}, "port 80"),
    ],
)
def test_the_master_user_comes_from_a_usable_warehouse_connection(change, message):
    with pytest.raises(ClusterRequestError, match=message):
        cluster_request(PARAMS, "203.0.113.0/24", warehouse(**change))


def test_an_unset_port_is_redshifts_default():
    assert cluster_request(PARAMS, "203.0.113.0/24", warehouse(port=None)).port == 5439


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0"])
def test_opening_the_port_to_the_internet_is_allowed_with_a_warning(cidr, caplog):
    with caplog.at_level(logging.WARNING, logger="sparkify.infra.cluster_request"):
        request = cluster_request({**PARAMS, "ingress_cidr": cidr}, None, warehouse())

    assert request.ingress_cidr == cidr
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert f"Ingress CIDR {cidr} opens the cluster's port to the whole internet" in record.getMessage()


def test_a_narrow_cidr_gives_no_warning(caplog):
    with caplog.at_level(logging.WARNING):
        cluster_request({**PARAMS, "ingress_cidr": "203.0.113.0/24"}, None, warehouse())
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_delete_needs_the_cluster_identifier_as_confirmation_and_takes_a_final_snapshot():
    from datetime import datetime, timezone

    now = datetime(2026, 11, 29, 19, 5, 7, tzinfo=timezone.utc)
    for confirmation in (None, "", "yes", "SPARKIFY-DWH", "sparkify-dwh "):
        with pytest.raises(ClusterRequestError, match="confirm_delete set to its identifier, 'sparkify-dwh'"):
            cluster_request({**PARAMS, "action": "delete", "confirm_delete": confirmation}, now=now)
    request = cluster_request({**PARAMS, "action": "delete", "confirm_delete": "sparkify-dwh"}, now=now)
    assert (request.skip_final_snapshot, request.final_snapshot_identifier) == (
        False,
        "sparkify-dwh-final-20261129-190507",
    )
    skipped = cluster_request(
        {**PARAMS, "action": "delete", "confirm_delete": "sparkify-dwh", "skip_final_snapshot": True}, now=now
    )
    assert (skipped.skip_final_snapshot, skipped.final_snapshot_identifier) == (True, None)
    with pytest.raises(ClusterRequestError, match="skip_final_snapshot"):
        cluster_request({**PARAMS, "action": "delete", "confirm_delete": "sparkify-dwh", "skip_final_snapshot": "yes"})
