"""The cluster's VPC security group, in the region's default VPC, and the ingress rule that opens its port."""

from __future__ import annotations

import ipaddress
from typing import Any

from botocore.exceptions import ClientError

RULE_DESCRIPTION = "Redshift (sparkify_infra)"


def default_vpc_id(ec2: Any) -> str | None:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    return vpcs[0]["VpcId"] if vpcs else None


def find_group(ec2: Any, name: str) -> str | None:
    """The id of security group `name` in the default VPC, if there is one."""
    vpc_id = default_vpc_id(ec2)
    if vpc_id is None:
        return None
    groups = ec2.describe_security_groups(Filters=[
        {"Name": "group-name", "Values": [name]},
        {"Name": "vpc-id", "Values": [vpc_id]},
    ])["SecurityGroups"]
    return groups[0]["GroupId"] if groups else None


def ensure_group(ec2: Any, name: str, description: str) -> str:
    """Security group `name` in the default VPC, created without rules if it is missing."""
    existing = find_group(ec2, name)
    if existing:
        return existing
    vpc_id = default_vpc_id(ec2)
    if vpc_id is None:
        raise RuntimeError("This region has no default VPC, which sparkify_infra creates the cluster in.")
    return ec2.create_security_group(GroupName=name, Description=description, VpcId=vpc_id)["GroupId"]


def delete_group(ec2: Any, name: str) -> bool:
    """Delete security group `name`. Returns False when there was no such group."""
    group_id = find_group(ec2, name)
    if group_id is None:
        return False
    ec2.delete_security_group(GroupId=group_id)
    return True


def open_port(ec2: Any, group_id: str, port: int, cidr: str) -> bool:
    """Allow TCP `port` from `cidr`. Returns False when the rule was already there."""
    ranges = ("Ipv6Ranges", "CidrIpv6") if ipaddress.ip_network(cidr).version == 6 else ("IpRanges", "CidrIp")
    permission = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                  ranges[0]: [{ranges[1]: cidr, "Description": RULE_DESCRIPTION}]}
    try:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[permission])
    except ClientError as error:
        if error.response["Error"]["Code"] == "InvalidPermission.Duplicate":
            return False
        raise
    return True
