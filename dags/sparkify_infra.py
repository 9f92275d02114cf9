"""
### Sparkify infrastructure: the Redshift cluster and its IAM role

Trigger manually, choosing an **action**. Every action is idempotent, so a failed or
repeated run is fixed by triggering it again.

- **create**: create the IAM role `iam_role_name` with read-only S3 access (if it is
  missing) and a security group `<cluster_identifier>-access` in the default VPC, create
  the cluster (`node_type` × `number_of_nodes`, default dc2.large × 4) with them, wait
  until it is available, open its port to `ingress_cidr` (param, else the Variable
  `sparkify_cluster_ingress_cidr`), then print the endpoint and the role ARN and where
  they go: the endpoint in the `redshift` connection, the role ARN in the Variable
  `sparkify_redshift_iam_role` (COPY's IAM_ROLE). The master user, its password, the
  database and the port are those of the warehouse connection
  (`sparkify_redshift_conn_id`, default `redshift`). An existing cluster is not
  created again: the run waits for it, attaches the role if the cluster lacks it, and
  opens its port. It is not resized: a node type or count other than the params' is
  only logged as a warning. The port is opened only in the group
  `<cluster_identifier>-access`; a cluster outside it fails the run with how to fix it.
  A role or group that already exists without the tags below (someone else's) is not
  changed: the run fails, naming it, unless the param `adopt_existing` is true. Adopting
  tags it `adopted-by=sparkify_infra`; `delete` then removes only what `create` added to it
  (the S3 policy it attached, the port rule it opened, the tag), never the role or group.
- **pause** / **resume**: pause or resume the cluster and wait until it is paused or
  available.
- **delete**: needs the param `confirm_delete` equal to `cluster_identifier`. Deletes the
  cluster, with a final snapshot `<cluster_identifier>-final-<UTC time>` unless the param
  `skip_final_snapshot` is true, waits until it is gone, then deletes its security group and
  the IAM role. It touches only resources that `create` made, which carry the tags
  `project=sparkify` and `managed-by=sparkify_infra`: a cluster without them fails the run
  untouched, and a group or role without them (or a role another cluster still uses) is kept;
  an adopted one is kept too, with only what `create` added to it removed.

AWS calls use the connection named by the Variable `sparkify_infra_aws_conn_id`
(default `aws_default`), in that connection's region. It must not have a `role_arn`
extra, which the Amazon provider would assume for every call.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.amazon.aws.operators.redshift_cluster import (
    RedshiftCreateClusterOperator,
    RedshiftPauseClusterOperator,
    RedshiftResumeClusterOperator,
)
from airflow.providers.amazon.aws.sensors.redshift_cluster import RedshiftClusterSensor
from airflow.sdk import DAG, Param, chain, task

from sparkify.config import DEFAULTS, variable_template
from sparkify.dag_defaults import dag_default_args
from sparkify.infra import lifecycle as step
from sparkify.infra.cluster_request import (
    ACTIONS,
    DEFAULT_CLUSTER_ID,
    DEFAULT_NODE_TYPE,
    DEFAULT_NODES,
    DEFAULT_ROLE_NAME,
)
from sparkify.infra.delete_cluster import DeleteClusterOperator
from sparkify.infra.ownership import tag_list

log = logging.getLogger(__name__)
AWS = variable_template("sparkify_infra_aws_conn_id")
WAREHOUSE = variable_template("sparkify_redshift_conn_id")
PIPELINE_AWS = variable_template("sparkify_aws_conn_id")
# Rendered only when create_cluster runs; Airflow masks it in logs and rendered fields.
MASTER_PASSWORD = (
    "{{ conn.get(var.value.get('sparkify_redshift_conn_id', '"
    + DEFAULTS["sparkify_redshift_conn_id"]
    + "')).password }}"
)
SENSOR_ARGS: dict[str, Any] = {
    "mode": "reschedule",
    "poke_interval": 60,
    "timeout": timedelta(hours=1).total_seconds(),
    # choose_steps may start a sensor without the step before it (e.g. the cluster is already paused).
    "trigger_rule": "none_failed_min_one_success",
    "aws_conn_id": AWS,
}

# Every action is idempotent: trigger it again. The tasks that do retry (AWS eventual consistency)
# back off exponentially, as in the other DAGs.
default_args = dag_default_args(retries=0)

with DAG(
    dag_id="sparkify_infra",
    description="Creates, pauses, resumes and deletes a REAL Redshift cluster and its IAM role in your AWS account "
    "(costs money; delete asks for confirmation)",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2018, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    params={
        "action": Param(
            type="string",
            enum=list(ACTIONS),
            title="Action",
            description="create, pause, resume or delete the cluster.",
        ),
        "cluster_identifier": Param(DEFAULT_CLUSTER_ID, type="string", title="Cluster identifier"),
        "node_type": Param(DEFAULT_NODE_TYPE, type="string", title="Node type"),
        "number_of_nodes": Param(DEFAULT_NODES, type="integer", minimum=1, maximum=128, title="Number of nodes"),
        "iam_role_name": Param(DEFAULT_ROLE_NAME, type="string", title="IAM role name"),
        "ingress_cidr": Param(
            None,
            type=["null", "string"],
            title="Ingress CIDR",
            description="create only: the range the cluster's port is opened to. "
            "Default: the Variable sparkify_cluster_ingress_cidr.",
        ),
        "adopt_existing": Param(
            False,
            type="boolean",
            title="Adopt an existing role or group",
            description="create only: use an IAM role or security group with the run's names that exists but was "
            "not created by sparkify_infra (it lacks the tags project=sparkify, managed-by=sparkify_infra). "
            "Without this, create fails and changes nothing in it. With it, create tags it "
            "adopted-by=sparkify_infra, attaches the S3 policy or opens the port, and delete later undoes only "
            "that, never deleting the role or group itself.",
        ),
        "confirm_delete": Param(
            None,
            type=["null", "string"],
            title="Confirm delete",
            description="delete only: type the cluster identifier again to confirm. Nothing is deleted otherwise.",
        ),
        "skip_final_snapshot": Param(
            False,
            type="boolean",
            title="Skip the final snapshot",
            description="delete only: delete the cluster without taking a final snapshot of its data.",
        ),
    },
    tags=["sparkify", "infra", "redshift"],
) as dag:

    @task(task_id="check_params", multiple_outputs=True)
    def check_params(redshift_conn_id: str, **context) -> dict:
        """Validate the request before any AWS call; for create, also the CIDR and the master user."""
        from airflow.sdk import Connection, Variable

        from sparkify.infra.cluster_request import INGRESS_CIDR_VARIABLE, cluster_request
        from sparkify.infra.ownership import adopt_existing

        params = context["params"]
        warehouse = Connection.get(redshift_conn_id) if params.get("action") == "create" else None
        request = cluster_request(params, Variable.get(INGRESS_CIDR_VARIABLE, default=None), warehouse)
        return {**request.as_dict(), "adopt_existing": adopt_existing(params)}

    @task.branch(task_id="choose_steps")
    def choose_steps(action: str, cluster_identifier: str, aws_conn_id: str) -> list[str]:
        """Start the action's steps that the cluster's current status calls for."""
        from airflow.providers.amazon.aws.hooks.redshift_cluster import RedshiftHook

        from sparkify.infra.ownership import require_managed_cluster

        hook = RedshiftHook(aws_conn_id=aws_conn_id)
        status = hook.cluster_status(cluster_identifier)
        steps = step.steps_for(action, status, cluster_identifier)
        if step.DELETE_CLUSTER in steps:  # never delete a cluster that create did not make
            require_managed_cluster(hook.conn.describe_clusters(ClusterIdentifier=cluster_identifier)["Clusters"][0])
        print(f"Cluster {cluster_identifier} is {status}; {action} runs {', '.join(steps)}")
        return steps

    @task(task_id=step.ENSURE_IAM_ROLE)
    def ensure_iam_role(role_name: str, adopt: bool, aws_conn_id: str) -> str:
        """The role the cluster assumes to read S3, created with read-only S3 access if missing.

        An existing role without the project's tags fails the task, unchanged, unless adopt_existing."""
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        from sparkify.infra.iam_role import ensure_role

        iam = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="iam").get_conn()
        arn, created = ensure_role(iam, role_name, adopt)
        print(f"{'Created' if created else 'Found'} IAM role {arn}")
        return arn

    @task(task_id=step.ENSURE_SECURITY_GROUP)
    def ensure_security_group(group_name: str, cluster_identifier: str, adopt: bool, aws_conn_id: str) -> str:
        """The cluster's own security group in the default VPC (no rules until open_port).

        An existing group without the project's tags fails the task, unchanged, unless adopt_existing."""
        from airflow.providers.amazon.aws.hooks.ec2 import EC2Hook

        from sparkify.infra.security_group import ensure_group

        ec2 = EC2Hook(aws_conn_id=aws_conn_id, api_type="client_type").get_conn()
        description = f"Redshift port of cluster {cluster_identifier} (sparkify_infra)"
        return ensure_group(ec2, group_name, description, adopt)

    @task(task_id="attach_iam_role")
    def attach_iam_role(
        cluster_identifier: str, role_arn: str, node_type: str, number_of_nodes: int, aws_conn_id: str
    ) -> str:
        """Attach the role to the cluster if it lacks it (one found by create may); warn if its size differs."""
        from airflow.providers.amazon.aws.hooks.redshift_cluster import RedshiftHook

        from sparkify.infra.existing_cluster import attach_role, size_difference

        redshift = RedshiftHook(aws_conn_id=aws_conn_id).conn
        cluster = redshift.describe_clusters(ClusterIdentifier=cluster_identifier)["Clusters"][0]
        if attach_role(redshift, cluster, role_arn):
            log.info(
                "Attached IAM role %s to cluster %s, which did not have it. COPY can use it once the "
                "cluster shows the role as in-sync (a few minutes).",
                role_arn,
                cluster_identifier,
            )
        else:
            log.info("Cluster %s already has IAM role %s", cluster_identifier, role_arn)
        difference = size_difference(cluster, node_type, number_of_nodes)
        if difference:
            log.warning(difference)
        return role_arn

    @task(task_id="open_port")
    def open_port(cluster_identifier: str, group_name: str, cidr: str, adopt: bool, aws_conn_id: str) -> str:
        """Allow the cluster's port from the CIDR, in its own security group only, if it is the project's."""
        from airflow.providers.amazon.aws.hooks.ec2 import EC2Hook
        from airflow.providers.amazon.aws.hooks.redshift_cluster import RedshiftHook

        from sparkify.infra.security_group import claim_group_by_id, cluster_group
        from sparkify.infra.security_group import open_port as allow

        cluster = RedshiftHook(aws_conn_id=aws_conn_id).conn.describe_clusters(ClusterIdentifier=cluster_identifier)[
            "Clusters"
        ][0]
        ec2 = EC2Hook(aws_conn_id=aws_conn_id, api_type="client_type").get_conn()
        group_id = claim_group_by_id(ec2, cluster_group(ec2, cluster, group_name), adopt)
        port = cluster["Endpoint"]["Port"]
        added = allow(ec2, group_id, port, cidr)
        print(f"Port {port} {'is now' if added else 'was already'} open to {cidr} in security group {group_id}")
        return group_id

    @task(task_id="report_connection")
    def report_connection(
        cluster_identifier: str,
        role_arn: str,
        cidr: str,
        aws_conn_id: str,
        redshift_conn_id: str,
        pipeline_aws_conn_id: str,
    ) -> dict:
        """Print the endpoint and role ARN, and where they go: the warehouse connection and COPY's Variable."""
        from airflow.providers.amazon.aws.hooks.redshift_cluster import RedshiftHook

        from sparkify.infra.connection_instructions import cluster_settings, connection_instructions

        cluster = RedshiftHook(aws_conn_id=aws_conn_id).conn.describe_clusters(ClusterIdentifier=cluster_identifier)[
            "Clusters"
        ][0]
        settings = cluster_settings(cluster, role_arn, cidr)
        print(connection_instructions(settings, redshift_conn_id, pipeline_aws_conn_id))
        return settings

    @task(task_id="delete_security_group", retries=3, retry_delay=timedelta(minutes=1))
    def delete_security_group(group_name: str, aws_conn_id: str) -> bool:
        """Delete the cluster's security group if create made it.

        Retried: AWS releases the group a little after the cluster."""
        from airflow.providers.amazon.aws.hooks.ec2 import EC2Hook

        from sparkify.infra.security_group import delete_group

        deleted, why = delete_group(EC2Hook(aws_conn_id=aws_conn_id, api_type="client_type").get_conn(), group_name)
        print(f"Security group {group_name}: {why}")
        return deleted

    @task(task_id="delete_iam_role")
    def delete_iam_role(role_name: str, aws_conn_id: str) -> bool:
        """Delete the IAM role if create made it and no remaining cluster uses it."""
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
        from airflow.providers.amazon.aws.hooks.redshift_cluster import RedshiftHook

        from sparkify.infra.iam_role import delete_role

        redshift = RedshiftHook(aws_conn_id=aws_conn_id).conn
        clusters = [c for page in redshift.get_paginator("describe_clusters").paginate() for c in page["Clusters"]]
        iam = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="iam").get_conn()
        deleted, why = delete_role(iam, role_name, clusters)
        print(f"IAM role {role_name}: {why}")
        return deleted

    request = check_params(WAREHOUSE)
    cluster_id = request["cluster_identifier"]
    choose = choose_steps(request["action"], cluster_id, AWS)

    # create
    adopt = request["adopt_existing"]
    role_arn = ensure_iam_role(request["iam_role_name"], adopt, AWS)
    security_group = ensure_security_group(request["security_group_name"], cluster_id, adopt, AWS)
    create_cluster = RedshiftCreateClusterOperator(
        task_id="create_cluster",
        cluster_identifier=cluster_id,
        node_type=request["node_type"],
        cluster_type=request["cluster_type"],
        number_of_nodes=request["number_of_nodes"],
        master_username=request["master_username"],
        master_user_password=MASTER_PASSWORD,
        db_name=request["db_name"],
        port=request["port"],
        iam_roles=[role_arn],
        vpc_security_group_ids=[security_group],
        publicly_accessible=True,  # reachable from outside the VPC, but only from ingress_cidr
        encrypted=True,
        tags=tag_list(),  # delete acts only on resources with these tags
        wait_for_completion=False,  # wait_until_available waits, without holding a worker slot
        aws_conn_id=AWS,
        # A role created seconds ago may not have reached Redshift yet (InvalidParameterValue).
        retries=3,
        retry_delay=timedelta(seconds=30),
    )
    wait_until_available = RedshiftClusterSensor(
        task_id=step.WAIT_UNTIL_AVAILABLE,
        cluster_identifier=cluster_id,
        target_status="available",
        **SENSOR_ARGS,
    )
    attached_role = attach_iam_role(cluster_id, role_arn, request["node_type"], request["number_of_nodes"], AWS)
    opened = open_port(cluster_id, request["security_group_name"], request["ingress_cidr"], adopt, AWS)
    report = report_connection(cluster_id, attached_role, request["ingress_cidr"], AWS, WAREHOUSE, PIPELINE_AWS)
    choose >> [role_arn, security_group, wait_until_available]
    create_cluster >> wait_until_available >> attached_role >> opened >> report

    # pause and resume
    pause_cluster = RedshiftPauseClusterOperator(
        task_id=step.PAUSE_CLUSTER, cluster_identifier=cluster_id, aws_conn_id=AWS
    )
    wait_until_paused = RedshiftClusterSensor(
        task_id=step.WAIT_UNTIL_PAUSED,
        cluster_identifier=cluster_id,
        target_status="paused",
        **SENSOR_ARGS,
    )
    resume_cluster = RedshiftResumeClusterOperator(
        task_id=step.RESUME_CLUSTER, cluster_identifier=cluster_id, aws_conn_id=AWS
    )
    wait_until_resumed = RedshiftClusterSensor(
        task_id=step.WAIT_UNTIL_RESUMED,
        cluster_identifier=cluster_id,
        target_status="available",
        **SENSOR_ARGS,
    )
    chain(choose, [pause_cluster, resume_cluster], [wait_until_paused, wait_until_resumed])
    choose >> [wait_until_paused, wait_until_resumed]

    # delete
    delete_cluster = DeleteClusterOperator(
        task_id=step.DELETE_CLUSTER,
        cluster_identifier=cluster_id,
        skip_final_cluster_snapshot=request["skip_final_snapshot"],
        final_cluster_snapshot_identifier=request["final_snapshot_identifier"],
        wait_for_completion=False,
        aws_conn_id=AWS,
    )
    wait_until_deleted = RedshiftClusterSensor(
        task_id=step.WAIT_UNTIL_DELETED,
        cluster_identifier=cluster_id,
        target_status=step.MISSING,
        **SENSOR_ARGS,
    )
    chain(
        choose,
        delete_cluster,
        wait_until_deleted,
        [
            delete_security_group(request["security_group_name"], AWS),
            delete_iam_role(request["iam_role_name"], AWS),
        ],
    )
    choose >> wait_until_deleted
