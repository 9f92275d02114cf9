"""The cluster's VPC security group, in the region's default VPC, and the ingress rule that opens its port."""

from __future__ import annotations

import ipaddress
from typing import Any

from botocore.exceptions import ClientError

from sparkify.infra.ownership import ADOPTED_TAGS, is_adopted, is_managed, may_change, tag_list

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


def claim_group(ec2: Any, group: dict[str, Any], adopt: bool) -> str:
    """The id of an existing group that create may add a rule to: sparkify_infra's, or adopted.

    A group without the tags is adopted (tagged) if `adopt`; else NotManagedError, with nothing changed.
    """
    if may_change("Security group", f"{group['GroupName']} ({group['GroupId']})", group.get("Tags"), adopt):
        ec2.create_tags(Resources=[group["GroupId"]], Tags=tag_list(ADOPTED_TAGS))
    return str(group["GroupId"])


def claim_group_by_id(ec2: Any, group_id: str, adopt: bool) -> str:
    """claim_group for the group with id `group_id`."""
    return claim_group(ec2, ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0], adopt)


def ensure_group(ec2: Any, name: str, description: str, adopt: bool = False) -> str:
    """Security group `name` in the default VPC, created without rules if it is missing.

    An existing group must be sparkify_infra's or adopted (see claim_group)."""
    existing = _describe_group(ec2, name)
    if existing:
        return claim_group(ec2, existing, adopt)
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
    if is_adopted(group.get("Tags")):
        return False, release_group(ec2, group)
    if not is_managed(group.get("Tags")):
        return False, f"kept {group['GroupId']}: sparkify_infra did not create it (it lacks its tags)"
    ec2.delete_security_group(GroupId=group["GroupId"])
    return True, "deleted"


def release_group(ec2: Any, group: dict[str, Any]) -> str:
    """Undo what create did to an adopted group: revoke the rules it added (by their description), untag it."""
    added, count = [], 0
    for permission in group.get("IpPermissions", []):
        ranges = {
            key: [r for r in permission.get(key, []) if r.get("Description") == RULE_DESCRIPTION]
            for key in ("IpRanges", "Ipv6Ranges")
        }
        if any(ranges.values()):
            ports = {k: permission[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in permission}
            added.append({**ports, **{key: value for key, value in ranges.items() if value}})
            count += sum(len(value) for value in ranges.values())
    if added:
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=added)
    ec2.delete_tags(Resources=[group["GroupId"]], Tags=[{"Key": key} for key in ADOPTED_TAGS])
    return (
        f"kept {group['GroupId']}: adopted, not created by sparkify_infra; revoked the {count} "
        f"ingress rule(s) create had added and removed its adoption tags"
    )


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
