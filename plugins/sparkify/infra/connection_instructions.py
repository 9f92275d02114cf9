"""What `sparkify_infra` prints after `create`: the endpoint, the role ARN and how to use them."""

from __future__ import annotations

from typing import Any


def cluster_settings(cluster: dict[str, Any], role_arn: str, ingress_cidr: str) -> dict[str, Any]:
    """The facts a user needs from a `describe_clusters` entry; nothing secret."""
    endpoint = cluster.get("Endpoint") or {}
    return {
        "cluster_identifier": cluster["ClusterIdentifier"],
        "status": cluster["ClusterStatus"],
        "host": endpoint.get("Address"),
        "port": endpoint.get("Port"),
        "database": cluster.get("DBName"),
        "master_username": cluster.get("MasterUsername"),
        "role_arn": role_arn,
        "ingress_cidr": ingress_cidr,
    }


def connection_instructions(settings: dict[str, Any], redshift_conn_id: str, aws_conn_id: str) -> str:
    s = settings
    return "\n".join(
        [
            f"Cluster {s['cluster_identifier']} is {s['status']}.",
            f"  endpoint: {s['host']}:{s['port']}  database: {s['database']}  master user: {s['master_username']}",
            f"  IAM role: {s['role_arn']}",
            f"  port {s['port']} is open to {s['ingress_cidr']}",
            "Point the pipeline at it:",
            f"  - connection '{redshift_conn_id}': type redshift, host {s['host']}, port {s['port']}, "
            f"schema {s['database']}; its login and password are already the master user's.",
            f"  - Variable 'sparkify_redshift_iam_role': {s['role_arn']}, so that COPY uses IAM_ROLE. "
            f"Leave connection '{aws_conn_id}' without a role_arn extra: the task itself cannot assume this role.",
            "  Coming from dwh.cfg? Set [CLUSTER] HOST and [IAM_ROLE] ARN to these values and run "
            "`make import-dwh-cfg CFG=dwh.cfg`.",
        ]
    )
