"""What `create` checks on a cluster it finds: that COPY's IAM role is attached, and its size."""

from __future__ import annotations

from typing import Any


def attach_role(redshift: Any, cluster: dict[str, Any], role_arn: str) -> bool:
    """Attach `role_arn` to the cluster unless it already is. Returns whether it was attached now."""
    if role_arn in {role["IamRoleArn"] for role in cluster.get("IamRoles", [])}:
        return False
    redshift.modify_cluster_iam_roles(ClusterIdentifier=cluster["ClusterIdentifier"], AddIamRoles=[role_arn])
    return True


def size_difference(cluster: dict[str, Any], node_type: str, number_of_nodes: int) -> str | None:
    """A warning when the cluster's node type or count differ from the run's params, else None."""
    actual = (cluster["NodeType"], cluster["NumberOfNodes"])
    if actual == (node_type, number_of_nodes):
        return None
    return (
        f"Cluster {cluster['ClusterIdentifier']} is {actual[0]} x {actual[1]}, not the requested "
        f"{node_type} x {number_of_nodes}. It was NOT changed: sparkify_infra does not resize clusters. "
        f"Resize it in the Redshift console (or `aws redshift resize-cluster`), or delete and create it again."
    )
