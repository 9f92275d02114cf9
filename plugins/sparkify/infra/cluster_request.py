"""What a `sparkify_infra` run is asked to do, validated before any AWS call.

The cluster's master user is the warehouse connection's login and password, so the
pipeline connects with the credentials the cluster was created with. Error messages
never quote the password.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import string
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from sparkify.identifiers import validate_identifier

ACTIONS = ("create", "pause", "resume", "delete")
DEFAULT_CLUSTER_ID = "sparkify-dwh"
DEFAULT_NODE_TYPE = "dc2.large"
DEFAULT_NODES = 4
DEFAULT_ROLE_NAME = "sparkify-redshift-s3-read"
INGRESS_CIDR_VARIABLE = "sparkify_cluster_ingress_cidr"

# Redshift: 1-63 lower-case letters, digits or hyphens; a letter first; no "--"; no trailing "-".
_CLUSTER_ID = re.compile(r"(?!.*--)[a-z][a-z0-9-]{0,62}(?<!-)")
_NODE_TYPE = re.compile(r"[a-z0-9]+\.[a-z0-9]+")
_ROLE_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")
_PASSWORD_FORBIDDEN = set("'\"\\/@ ")
log = logging.getLogger(__name__)


class ClusterRequestError(ValueError):
    """A parameter, Variable or connection setting that the cluster cannot be managed with."""


@dataclass(frozen=True)
class ClusterRequest:
    """A validated `sparkify_infra` run: the action and everything the action needs."""

    action: str
    cluster_identifier: str
    node_type: str
    number_of_nodes: int
    iam_role_name: str
    ingress_cidr: str | None = None
    master_username: str | None = None
    db_name: str | None = None
    port: int | None = None
    skip_final_snapshot: bool = False
    final_snapshot_identifier: str | None = None

    @property
    def cluster_type(self) -> str:
        return "single-node" if self.number_of_nodes == 1 else "multi-node"

    @property
    def security_group_name(self) -> str:
        """The VPC security group created with the cluster, which opens its port."""
        return f"{self.cluster_identifier}-access"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cluster_type": self.cluster_type, "security_group_name": self.security_group_name}


def cluster_request(
    params: Mapping[str, Any],
    ingress_cidr_variable: str | None = None,
    warehouse: Any = None,
    now: datetime | None = None,
) -> ClusterRequest:
    """Validate a run's params; for `create`, also the ingress CIDR and the warehouse connection.

    `delete` needs the param `confirm_delete` equal to the cluster identifier, and takes a final
    snapshot named `<cluster>-final-<UTC time>` (from `now`) unless `skip_final_snapshot` is true.
    """
    action = params.get("action")
    if action not in ACTIONS:
        raise ClusterRequestError(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.")
    request = ClusterRequest(
        action=action,
        cluster_identifier=validate_cluster_identifier(params.get("cluster_identifier")),
        node_type=validate_node_type(params.get("node_type")),
        number_of_nodes=validate_number_of_nodes(params.get("number_of_nodes")),
        iam_role_name=validate_role_name(params.get("iam_role_name")),
    )
    if action == "delete":
        return _delete_request(request, params, now or datetime.now(timezone.utc))
    if action != "create":
        return request
    cidr = params.get("ingress_cidr") or ingress_cidr_variable
    if not cidr:
        raise ClusterRequestError(
            f"Creating a cluster opens its port to one CIDR range: give the ingress_cidr param or set the "
            f"Airflow Variable {INGRESS_CIDR_VARIABLE} (for example your network's 203.0.113.0/24)."
        )
    if warehouse is None:
        raise ClusterRequestError("Creating a cluster needs the warehouse connection for its master user.")
    return ClusterRequest(
        **{
            **asdict(request),
            "ingress_cidr": validate_cidr(cidr),
            **master_user(warehouse),
        }
    )


def _delete_request(request: ClusterRequest, params: Mapping[str, Any], now: datetime) -> ClusterRequest:
    cluster = request.cluster_identifier
    if params.get("confirm_delete") != cluster:
        raise ClusterRequestError(
            f"Deleting cluster {cluster!r} needs the param confirm_delete set to its identifier, {cluster!r} "
            f"(it was {params.get('confirm_delete')!r}). Nothing was deleted."
        )
    skip = params.get("skip_final_snapshot", False)
    if not isinstance(skip, bool):
        raise ClusterRequestError(f"Invalid skip_final_snapshot {skip!r}: expected true or false.")
    snapshot = None if skip else f"{cluster}-final-{now.astimezone(timezone.utc):%Y%m%d-%H%M%S}"
    return ClusterRequest(**{**asdict(request), "skip_final_snapshot": skip, "final_snapshot_identifier": snapshot})


def validate_cluster_identifier(value: Any) -> str:
    if not isinstance(value, str) or not _CLUSTER_ID.fullmatch(value):
        raise ClusterRequestError(
            f"Invalid cluster_identifier {value!r}: use 1-63 lower-case letters, digits and hyphens, "
            f"starting with a letter, without two hyphens in a row or a hyphen at the end."
        )
    return value


def validate_node_type(value: Any) -> str:
    if not isinstance(value, str) or not _NODE_TYPE.fullmatch(value):
        raise ClusterRequestError(f"Invalid node_type {value!r}: expected a Redshift node type such as dc2.large.")
    return value


def validate_number_of_nodes(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 128:
        raise ClusterRequestError(f"Invalid number_of_nodes {value!r}: expected a whole number from 1 to 128.")
    return value


def validate_role_name(value: Any) -> str:
    if not isinstance(value, str) or not _ROLE_NAME.fullmatch(value):
        raise ClusterRequestError(
            f"Invalid iam_role_name {value!r}: use 1-64 letters, digits and the characters +=,.@_-."
        )
    return value


def validate_cidr(value: Any) -> str:
    """The CIDR, normalised; 0.0.0.0/0 and ::/0 are allowed, with a warning."""
    try:
        network = ipaddress.ip_network(str(value).strip(), strict=True)
    except ValueError as error:
        raise ClusterRequestError(f"Invalid ingress CIDR {value!r}: {error}.") from None
    if network.prefixlen == 0:
        log.warning(
            "Ingress CIDR %s opens the cluster's port to the whole internet: anyone can try the master "
            "password. Prefer your network's range (for example 203.0.113.0/24).",
            network,
        )
    return str(network)


def master_user(warehouse: Any) -> dict[str, Any]:
    """The master user, database and port from the warehouse connection (not the password)."""
    conn_id = getattr(warehouse, "conn_id", "redshift")
    if not warehouse.login:
        raise ClusterRequestError(f"Connection {conn_id!r} has no login: it becomes the cluster's master user.")
    check_master_password(warehouse.password, conn_id)
    try:
        db_name = validate_identifier(warehouse.schema or "", "database name")
    except ValueError as error:
        raise ClusterRequestError(f"Connection {conn_id!r}: {error}") from None
    port = warehouse.port or 5439
    if not 1150 <= int(port) <= 65535:
        raise ClusterRequestError(f"Connection {conn_id!r} has port {port}: Redshift accepts 1150 to 65535.")
    return {"master_username": warehouse.login, "db_name": db_name, "port": int(port)}


def check_master_password(password: str | None, conn_id: str) -> None:
    """Redshift's password rules, checked without ever quoting the password."""
    problems = []
    password = password or ""
    if not 8 <= len(password) <= 64:
        problems.append("8 to 64 characters")
    if not any(c in string.ascii_uppercase for c in password):
        problems.append("an upper-case letter")
    if not any(c in string.ascii_lowercase for c in password):
        problems.append("a lower-case letter")
    if not any(c in string.digits for c in password):
        problems.append("a digit")
    if any(c in _PASSWORD_FORBIDDEN or not 33 <= ord(c) <= 126 for c in password):
        problems.append("only printable ASCII characters other than ' \" \\ / @ and space")
    if problems:
        raise ClusterRequestError(
            f"The password of connection {conn_id!r} becomes the cluster's master password, and Redshift "
            f"requires {', '.join(problems)}. (The password is not shown.)"
        )
