"""The IAM role the cluster assumes to read S3, for COPY ... IAM_ROLE."""

from __future__ import annotations

import json
from typing import Any

from sparkify.infra.ownership import ADOPTED_TAGS, is_adopted, is_managed, may_change, tag_list

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
S3_READ_ONLY_POLICY = "AmazonS3ReadOnlyAccess"
# On an adopted role: the policy that create attached, so that delete detaches that one only.
ATTACHED_POLICY_TAG = "sparkify_infra-attached-policy"


def ensure_role(iam: Any, name: str, adopt: bool = False) -> tuple[str, bool]:
    """Create role `name` with read-only S3 access if it is missing. Returns (ARN, whether it was created).

    An existing role without sparkify_infra's tags is changed only if `adopt` (the param
    adopt_existing) is true, or it was adopted before; otherwise NotManagedError, with nothing changed.
    """
    try:
        role, created = iam.get_role(RoleName=name)["Role"], False
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
            Description="Lets the Sparkify Redshift cluster read S3 (sparkify_infra).",
            Tags=tag_list(),  # only a tagged role is ever deleted by sparkify_infra
        )["Role"]
        created = True
    adopting = not created and may_change("IAM role", name, role.get("Tags"), adopt)
    policy_arn = s3_read_only_arn(role["Arn"])
    attach = policy_arn not in attached_policies(iam, name)
    marks = dict(ADOPTED_TAGS) if adopting else {}
    if attach and (adopting or is_adopted(role.get("Tags"))):
        marks[ATTACHED_POLICY_TAG] = policy_arn
    if marks:  # tagged before the change, so that delete can undo exactly what create did
        iam.tag_role(RoleName=name, Tags=tag_list(marks))
    if attach:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return role["Arn"], created


def delete_role(iam: Any, name: str, clusters: list[dict[str, Any]]) -> tuple[bool, str]:
    """Detach everything from role `name` and delete it, if sparkify_infra created it and no cluster uses it.

    `clusters` are the region's clusters (describe_clusters). Returns (deleted, why).
    """
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        return False, "there was none"
    tags = role.get("Tags")
    if not is_managed(tags) and not is_adopted(tags):
        return False, "kept: sparkify_infra did not create it (it lacks its tags)"
    users = sorted(
        c["ClusterIdentifier"] for c in clusters if role["Arn"] in {r["IamRoleArn"] for r in c.get("IamRoles", [])}
    )
    if users:
        return False, f"kept: cluster(s) {', '.join(users)} still use it"
    if is_adopted(tags):
        return False, release_role(iam, name, tags)
    for policy_arn in attached_policies(iam, name):
        iam.detach_role_policy(RoleName=name, PolicyArn=policy_arn)
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
        for policy_name in page["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
    for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=name):
        for profile in page["InstanceProfiles"]:
            iam.remove_role_from_instance_profile(InstanceProfileName=profile["InstanceProfileName"], RoleName=name)
    iam.delete_role(RoleName=name)
    return True, "deleted"


def release_role(iam: Any, name: str, tags: list[dict[str, str]]) -> str:
    """Undo what create did to an adopted role: detach the policy it attached, remove its tags. Says what."""
    added = next((tag["Value"] for tag in tags if tag["Key"] == ATTACHED_POLICY_TAG), None)
    detached = added is not None and added in attached_policies(iam, name)
    if detached:
        iam.detach_role_policy(RoleName=name, PolicyArn=added)
    iam.untag_role(RoleName=name, TagKeys=[*ADOPTED_TAGS, ATTACHED_POLICY_TAG])
    undone = f"detached {added}, which create had attached, and " if detached else ""
    return f"kept: adopted, not created by sparkify_infra; {undone}removed its adoption tags"


def attached_policies(iam: Any, name: str) -> list[str]:
    return [
        policy["PolicyArn"]
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
        for policy in page["AttachedPolicies"]
    ]


def s3_read_only_arn(role_arn: str) -> str:
    """AWS's managed read-only S3 policy, in the role's partition (aws, aws-cn, aws-us-gov)."""
    partition = role_arn.split(":")[1]
    return f"arn:{partition}:iam::aws:policy/{S3_READ_ONLY_POLICY}"
