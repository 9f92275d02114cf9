"""The cluster's VPC security group, in the region's default VPC, and the ingress rule that opens its port."""

from __future__ import annotations

import ipaddress
from typing import Any

from botocore.exceptions import ClientError

from sparkify.infra.ownership import is_managed, tag_list

RULE_DESCRIPTION = "Redshift (sparkify_infra)"


def default_vpc_id(ec2: Any) -> str | None:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    return vpcs[0]["VpcId"] if vpcs else None


def find_group(ec2: Any, name: str) -> str | None:
    """The id of security group `name` in the default VPC, if there is one."""
    group = _describe_group(ec2, name)
    return group["GroupId"] if group else None


def _describe_group(ec2: Any, name: str) -> dict[str, Any] | None:
    vpc_id = default_vpc_id(ec2)
    if vpc_id is None:
        return None
    groups = ec2.describe_security_groups(
        Filters=[
            {"Name": "group-name", "Values": [name]},
            {"Name": "vpc-id", "Values": [vpc_id]},
        ]
    )["SecurityGroups"]
    return groups[0] if groups else None


def ensure_group(ec2: Any, name: str, description: str) -> str:
    """Security group `name` in the default VPC, created without rules if it is missing."""
    existing = find_group(ec2, name)
    if existing:
        return existing
    vpc_id = default_vpc_id(ec2)
    if vpc_id is None:
        raise RuntimeError("This region has no default VPC, which sparkify_infra creates the cluster in.")
    return ec2.create_security_group(
        GroupName=name,
        Description=description,
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list()}],
    )["GroupId"]


def delete_group(ec2: Any, name: str) -> tuple[bool, str]:
    """Delete security group `name` if sparkify_infra created it (it has its tags). Returns (deleted, why)."""
    group = _describe_group(ec2, name)
    if group is None:
        return False, "there was none"
    if not is_managed(group.get("Tags")):
        return False, f"kept {group['GroupId']}: sparkify_infra did not create it (it lacks its tags)"
    ec2.delete_security_group(GroupId=group["GroupId"])
    return True, "deleted"


def open_port(ec2: Any, group_id: str, port: int, cidr: str) -> bool:
    """Allow TCP `port` from `cidr`. Returns False when the rule was already there."""
    ranges = ("Ipv6Ranges", "CidrIpv6") if ipaddress.ip_network(cidr).version == 6 else ("IpRanges", "CidrIp")
    permission = {
        "IpProtocol": "tcp",
        "FromPort": port,
        "ToPort": port,
        ranges[0]: [{ranges[1]: cidr, "Description": RULE_DESCRIPTION}],
    }
    try:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[permission])
    except ClientError as error:
        if error.response["Error"]["Code"] == "InvalidPermission.Duplicate":
            return False
        raise
    return True


class SecurityGroupError(RuntimeError):
    """The cluster is not in its own security group; the message says how to fix it."""


def cluster_group(ec2: Any, cluster: dict[str, Any], name: str) -> str:
    """The id of the cluster's own group `name`.

    Never another of its groups, which may be shared (the VPC's default)."""
    attached = [group["VpcSecurityGroupId"] for group in cluster.get("VpcSecurityGroups", [])]
    own = find_group(ec2, name)
    if own is not None and own in attached:
        return own
    cluster_id, port = cluster["ClusterIdentifier"], cluster["Endpoint"]["Port"]
    state = "which does not exist in the default VPC" if own is None else f"{own}, which it is not in"
    create = f"create security group {name} in the default VPC, then " if own is None else ""
    raise SecurityGroupError(
        f"Cluster {cluster_id} is not in its security group {name} ({state}); its groups are "
        f"{', '.join(attached) or 'none'}. sparkify_infra opens port {port} only in {name}, never in a group "
        f"other resources may share, such as the VPC's default group. To fix it, {create}add {name} to the "
        f"cluster: aws redshift modify-cluster --cluster-identifier {cluster_id} --vpc-security-group-ids "
        f"<id of {name}> {' '.join(attached)}; and trigger create again. Or open port {port} yourself."
    )
