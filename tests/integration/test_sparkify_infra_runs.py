"""`sparkify_infra` runs each action against a moto server (Redshift, IAM, EC2) and leaves the promised state.

The moto server is its own process on a free port, separate from the stack's S3, so every
test starts from an empty account (moto's reset API). The master password is known, and
searched for in everything a create run leaves behind.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from pathlib import Path

import boto3
import pytest
import requests

from local_stack.processes import free_port, port_is_open, spawn, terminate, wait_until
from sparkify.infra.cluster_request import DEFAULT_NODE_TYPE, DEFAULT_NODES
from sparkify.infra.iam_role import TRUST_POLICY

pytestmark = pytest.mark.integration

AWS_CONN_ID = "aws_infra_test"
WAREHOUSE_CONN_ID = "cluster_admin_test"
REGION = "us-west-2"
CLUSTER = "sparkify-test"
ROLE = "sparkify-test-s3-read"
CIDR = "203.0.113.0/24"
S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
OWN_TAGS = {"project": "sparkify", "managed-by": "sparkify_infra"}  # as docs/migrating.md states them


@pytest.fixture(scope="module")
def cloud(tmp_path_factory) -> str:
    """A moto server with every service (Redshift, IAM, EC2 ...) and AWS's managed IAM policies.

    It is moto's own server plus the one Redshift action it lacks (see moto_redshift_server.py).
    """
    home = tmp_path_factory.mktemp("moto")
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    spawn(
        [sys.executable, str(Path(__file__).with_name("moto_redshift_server.py")), "-H", "127.0.0.1", "-p", str(port)],
        home / "moto.pid",
        home / "moto.log",
        env=env,
    )
    wait_until(lambda: port_is_open("127.0.0.1", port), 30, "moto", home / "moto.log")
    yield f"http://127.0.0.1:{port}"
    terminate(home / "moto.pid")


@pytest.fixture
def aws(cloud, monkeypatch):
    """An empty account, the Airflow connections pointing at it, and boto3 clients to inspect it."""
    requests.post(f"{cloud}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "infra-access-key",
                "password": "infra-secret-key",
                "extra": {"endpoint_url": cloud, "region_name": REGION},
            }
        ),
    )
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_INFRA_AWS_CONN_ID", AWS_CONN_ID)
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_REDSHIFT_CONN_ID", WAREHOUSE_CONN_ID)
    monkeypatch.delenv("AIRFLOW_VAR_SPARKIFY_CLUSTER_INGRESS_CIDR", raising=False)

    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=cloud,
            region_name=REGION,
            aws_access_key_id="inspector",
            aws_secret_access_key="inspector",
        )

    return client


@pytest.fixture
def master_password(monkeypatch) -> str:
    """The warehouse connection, whose login and password become the cluster's master user."""
    password = f"Pw{uuid.uuid4().hex[:20]}9"
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}",
        json.dumps(
            {
                "conn_type": "redshift",
                "host": "",
                "port": 5439,
                "login": "sparkify_admin",
                "password": password,
                "schema": "sparkify",
            }
        ),
    )
    return password


@pytest.fixture(scope="module")
def infra_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from tests.support import PROJECT_ROOT

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "sparkify_infra.py"))
    assert bag.import_errors == {}
    dag = bag.dags["sparkify_infra"]
    dag.get_task("create_cluster").retries = 0  # a failed create fails the run at once, not after 90 s
    return dag


def trigger(dag, **conf):
    """One run, with every param given: in-process runs keep params from one run to the next."""
    defaults = {
        "cluster_identifier": CLUSTER,
        "iam_role_name": ROLE,
        "ingress_cidr": CIDR,
        "node_type": DEFAULT_NODE_TYPE,
        "number_of_nodes": DEFAULT_NODES,
        "confirm_delete": CLUSTER if conf.get("action") == "delete" else None,
        "skip_final_snapshot": False,
        "adopt_existing": False,
    }
    return dag.test(run_conf={**defaults, **conf})


def state_of(run) -> str:
    return str(getattr(run.state, "value", run.state))


def task_states(run) -> dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskInstance).filter_by(dag_id=run.dag_id, run_id=run.run_id)
        return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in rows}


def xcom(run, task_id: str):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id, key="return_value")
            .one()
        )
        return row.value if not isinstance(row.value, str) else json.loads(row.value)


def ran(run) -> set[str]:
    return {task for task, state in task_states(run).items() if state == "success"}


def cluster(aws) -> dict | None:
    clusters = aws("redshift").describe_clusters()["Clusters"]
    return next((c for c in clusters if c["ClusterIdentifier"] == CLUSTER), None)


def role_names(aws) -> set[str]:
    return {role["RoleName"] for role in aws("iam").list_roles()["Roles"]}


def group(aws) -> dict | None:
    groups = aws("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{CLUSTER}-access"]}])[
        "SecurityGroups"
    ]
    return groups[0] if groups else None


def tags_of(resource: dict) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def test_create_makes_the_role_the_cluster_and_opens_the_port(infra_dag, aws, master_password):
    run = trigger(infra_dag, action="create")

    assert state_of(run) == "success", task_states(run)
    role = aws("iam").get_role(RoleName=ROLE)["Role"]
    assert role["AssumeRolePolicyDocument"] == TRUST_POLICY
    attached = aws("iam").list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [S3_READ_ONLY]

    made = cluster(aws)
    assert made["ClusterStatus"] == "available"
    assert (made["NodeType"], made["NumberOfNodes"]) == ("dc2.large", 4)
    assert (made["MasterUsername"], made["DBName"], made["Endpoint"]["Port"]) == ("sparkify_admin", "sparkify", 5439)
    assert [r["IamRoleArn"] for r in made["IamRoles"]] == [role["Arn"]]
    security_group = group(aws)
    assert [g["VpcSecurityGroupId"] for g in made["VpcSecurityGroups"]] == [security_group["GroupId"]]
    [rule] = security_group["IpPermissions"]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 5439, 5439)
    assert [r["CidrIp"] for r in rule["IpRanges"]] == [CIDR]

    settings = xcom(run, "report_connection")
    assert settings["host"] == made["Endpoint"]["Address"] and settings["host"].startswith(CLUSTER)
    assert settings["role_arn"] == role["Arn"]
    assert ran(run) >= {
        "ensure_iam_role",
        "ensure_security_group",
        "create_cluster",
        "wait_until_available",
        "open_port",
        "report_connection",
    }
    assert not ran(run) & {"pause_cluster", "delete_cluster", "delete_iam_role", "wait_until_deleted"}


def test_create_again_keeps_the_cluster_and_role(infra_dag, aws, master_password, caplog):
    assert state_of(trigger(infra_dag, action="create")) == "success"
    first = cluster(aws)
    role_arn = aws("iam").get_role(RoleName=ROLE)["Role"]["Arn"]

    with caplog.at_level(logging.INFO):
        again = trigger(infra_dag, action="create", node_type="ra3.xlplus", number_of_nodes=2)

    assert state_of(again) == "success", task_states(again)
    assert task_states(again)["create_cluster"] == "skipped"
    assert {"ensure_iam_role", "wait_until_available", "attach_iam_role", "open_port", "report_connection"} <= ran(
        again
    )
    kept = cluster(aws)
    assert kept["ClusterCreateTime"] == first["ClusterCreateTime"]
    assert (kept["NodeType"], kept["NumberOfNodes"]) == ("dc2.large", 4)
    assert [r["IamRoleArn"] for r in kept["IamRoles"]] == [role_arn]
    assert len(aws("redshift").describe_clusters()["Clusters"]) == 1
    assert len(group(aws)["IpPermissions"]) == 1
    assert role_names(aws) == {ROLE}
    # Its own tagged role and group are reused as they are: no adoption tag.
    assert tags_of(aws("iam").get_role(RoleName=ROLE)["Role"]) == OWN_TAGS
    assert tags_of(group(aws)) == OWN_TAGS
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        f"Cluster {CLUSTER} is dc2.large x 4, not the requested ra3.xlplus x 2. It was NOT changed" in w
        for w in warnings
    ), warnings


def test_create_attaches_the_role_to_a_cluster_found_without_it(infra_dag, aws, master_password, caplog):
    assert state_of(trigger(infra_dag, action="create")) == "success"
    role_arn = aws("iam").get_role(RoleName=ROLE)["Role"]["Arn"]
    aws("redshift").modify_cluster_iam_roles(ClusterIdentifier=CLUSTER, RemoveIamRoles=[role_arn])
    assert cluster(aws)["IamRoles"] == []

    with caplog.at_level(logging.INFO):
        again = trigger(infra_dag, action="create")

    assert state_of(again) == "success", task_states(again)
    assert task_states(again)["create_cluster"] == "skipped"
    assert [r["IamRoleArn"] for r in cluster(aws)["IamRoles"]] == [role_arn]
    assert xcom(again, "report_connection")["role_arn"] == role_arn
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"Attached IAM role {role_arn} to cluster {CLUSTER}, which did not have it" in m for m in messages)
    assert not [r for r in caplog.records if r.levelno == logging.WARNING and "NOT changed" in r.getMessage()]


def test_create_refuses_to_open_the_port_outside_the_clusters_own_group(infra_dag, aws, master_password, capfd):
    """A cluster found in the VPC's default group only: that group may be shared, so it is left alone."""
    ec2 = aws("ec2")
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    default_group = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["default"]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    )["SecurityGroups"][0]
    aws("redshift").create_cluster(
        ClusterIdentifier=CLUSTER,
        NodeType=DEFAULT_NODE_TYPE,
        ClusterType="multi-node",
        NumberOfNodes=DEFAULT_NODES,
        MasterUsername="sparkify_admin",
        MasterUserPassword=master_password,
        DBName="sparkify",
        Port=5439,
        VpcSecurityGroupIds=[default_group["GroupId"]],
    )

    capfd.readouterr()
    run = trigger(infra_dag, action="create")
    out, err = capfd.readouterr()

    assert state_of(run) == "failed"
    assert task_states(run)["open_port"] == "failed"
    assert f"Cluster {CLUSTER} is not in its security group {CLUSTER}-access" in out + err
    after = ec2.describe_security_groups(GroupIds=[default_group["GroupId"]])["SecurityGroups"][0]
    assert after["IpPermissions"] == default_group["IpPermissions"], "the shared group got no rule"


def test_a_single_node_cluster(infra_dag, aws, master_password):
    assert state_of(trigger(infra_dag, action="create", number_of_nodes=1, node_type="ra3.large")) == "success"
    made = cluster(aws)
    assert (made["NodeType"], made["NumberOfNodes"]) == ("ra3.large", 1)


def test_pause_and_resume_are_idempotent(infra_dag, aws, master_password):
    assert state_of(trigger(infra_dag, action="create")) == "success"

    paused = trigger(infra_dag, action="pause")
    assert state_of(paused) == "success", task_states(paused)
    assert cluster(aws)["ClusterStatus"] == "paused"
    assert {"pause_cluster", "wait_until_paused"} <= ran(paused)

    paused_again = trigger(infra_dag, action="pause")
    assert state_of(paused_again) == "success", task_states(paused_again)
    assert task_states(paused_again)["pause_cluster"] == "skipped"
    assert cluster(aws)["ClusterStatus"] == "paused"

    resumed = trigger(infra_dag, action="resume")
    assert state_of(resumed) == "success", task_states(resumed)
    assert cluster(aws)["ClusterStatus"] == "available"
    assert {"resume_cluster", "wait_until_resumed"} <= ran(resumed)
    assert not ran(resumed) & {"create_cluster", "pause_cluster", "delete_cluster"}


def snapshots(aws) -> list[dict]:
    return aws("redshift").describe_cluster_snapshots(SnapshotType="manual")["Snapshots"]


def test_delete_snapshots_then_removes_cluster_group_and_role_and_is_safe_twice(infra_dag, aws, master_password):
    assert state_of(trigger(infra_dag, action="create")) == "success"
    assert cluster(aws) and group(aws) and role_names(aws) == {ROLE}

    deleted = trigger(infra_dag, action="delete")
    assert state_of(deleted) == "success", task_states(deleted)
    assert cluster(aws) is None
    assert group(aws) is None
    assert role_names(aws) == set()
    assert xcom(deleted, "delete_iam_role") is True
    [snapshot] = snapshots(aws)
    assert snapshot["ClusterIdentifier"] == CLUSTER
    assert snapshot["SnapshotIdentifier"].startswith(f"{CLUSTER}-final-")

    again = trigger(infra_dag, action="delete")
    assert state_of(again) == "success", task_states(again)
    assert task_states(again)["delete_cluster"] == "skipped"
    assert xcom(again, "delete_iam_role") is False
    assert xcom(again, "delete_security_group") is False
    assert len(snapshots(aws)) == 1


def test_delete_can_skip_the_final_snapshot(infra_dag, aws, master_password):
    assert state_of(trigger(infra_dag, action="create")) == "success"
    run = trigger(infra_dag, action="delete", skip_final_snapshot=True)
    assert state_of(run) == "success", task_states(run)
    assert cluster(aws) is None and snapshots(aws) == []


@pytest.mark.parametrize("confirmation", [None, "", "sparkify-dwh", CLUSTER.upper()])
def test_delete_needs_the_cluster_name_as_confirmation(infra_dag, aws, master_password, confirmation):
    assert state_of(trigger(infra_dag, action="create")) == "success"

    run = trigger(infra_dag, action="delete", confirm_delete=confirmation)

    assert state_of(run) == "failed"
    assert task_states(run)["check_params"] == "failed"
    assert cluster(aws)["ClusterStatus"] == "available" and group(aws) and role_names(aws) == {ROLE}


def unmanaged_role_and_group(aws) -> tuple[str, str]:
    """A role and a group with the run's names that someone else made (no sparkify_infra tags)."""
    from sparkify.infra.iam_role import TRUST_POLICY

    arn = aws("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]["Arn"]
    aws("iam").attach_role_policy(RoleName=ROLE, PolicyArn=S3_READ_ONLY)
    ec2 = aws("ec2")
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    group_id = ec2.create_security_group(GroupName=f"{CLUSTER}-access", Description="not ours", VpcId=vpc_id)["GroupId"]
    return arn, group_id


def test_delete_leaves_a_cluster_it_did_not_create(infra_dag, aws, master_password, capfd):
    arn, group_id = unmanaged_role_and_group(aws)
    aws("redshift").create_cluster(
        ClusterIdentifier=CLUSTER,
        NodeType=DEFAULT_NODE_TYPE,
        ClusterType="multi-node",
        NumberOfNodes=2,
        MasterUsername="someone",
        MasterUserPassword=master_password,
        IamRoles=[arn],
        VpcSecurityGroupIds=[group_id],
        Tags=[{"Key": "project", "Value": "sparkify"}],
    )

    capfd.readouterr()
    run = trigger(infra_dag, action="delete")
    out, err = capfd.readouterr()

    assert state_of(run) == "failed"
    assert task_states(run)["choose_steps"] == "failed"
    assert f"Cluster {CLUSTER!r} was not created by sparkify_infra" in out + err
    assert cluster(aws)["ClusterStatus"] == "available"
    assert group(aws)["GroupId"] == group_id and role_names(aws) == {ROLE}
    assert [p["PolicyArn"] for p in aws("iam").list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]] == [
        S3_READ_ONLY
    ], "nothing was detached"


def test_delete_without_a_cluster_leaves_a_role_and_group_it_did_not_create(infra_dag, aws, master_password):
    """The role named in the params exists but is someone else's: it is neither detached nor deleted."""
    _, group_id = unmanaged_role_and_group(aws)

    run = trigger(infra_dag, action="delete")

    assert state_of(run) == "success", task_states(run)
    assert (xcom(run, "delete_iam_role"), xcom(run, "delete_security_group")) == (False, False)
    assert role_names(aws) == {ROLE} and group(aws)["GroupId"] == group_id
    assert [p["PolicyArn"] for p in aws("iam").list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]] == [
        S3_READ_ONLY
    ]


def test_delete_keeps_a_role_another_cluster_still_uses(infra_dag, aws, master_password):
    assert state_of(trigger(infra_dag, action="create")) == "success"
    other = "sparkify-other"
    assert state_of(trigger(infra_dag, action="create", cluster_identifier=other)) == "success"

    run = trigger(infra_dag, action="delete")

    assert state_of(run) == "success", task_states(run)
    assert cluster(aws) is None and group(aws) is None
    assert role_names(aws) == {ROLE}, "the other cluster's role was deleted"
    assert xcom(run, "delete_iam_role") is False


def test_create_without_a_cidr_fails_before_touching_aws(infra_dag, aws, master_password):
    run = trigger(infra_dag, action="create", ingress_cidr=None)

    assert state_of(run) == "failed"
    assert task_states(run)["check_params"] == "failed"
    assert cluster(aws) is None and role_names(aws) == set()


def test_the_cidr_can_come_from_a_variable(infra_dag, aws, master_password, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_CLUSTER_INGRESS_CIDR", "198.51.100.7/32")
    run = trigger(infra_dag, action="create", ingress_cidr=None)

    assert state_of(run) == "success", task_states(run)
    assert [r["CidrIp"] for r in group(aws)["IpPermissions"][0]["IpRanges"]] == ["198.51.100.7/32"]


@pytest.mark.parametrize("action", ["pause", "resume"])
def test_pausing_or_resuming_a_missing_cluster_fails(infra_dag, aws, action):
    run = trigger(infra_dag, action=action)

    assert state_of(run) == "failed"
    assert task_states(run)["choose_steps"] == "failed"


def airflow_home_contents(home: Path) -> list[tuple[Path, str]]:
    """Every file under AIRFLOW_HOME as text; the metadata database as an SQL dump.

    The database is read through SQLite, never opened as a plain file: closing a second
    descriptor of an open SQLite file drops this process's locks on it (POSIX advisory
    locks), and the next write from another process can then corrupt it.
    """
    import sqlite3
    from contextlib import closing

    contents = []
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        if path.suffix == ".db":
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
                contents.append((path, "\n".join(conn.iterdump())))
        elif not path.name.endswith(("-journal", "-wal", "-shm")):
            contents.append((path, path.read_bytes().decode("utf-8", errors="replace")))
    assert any(path.name == "airflow.db" for path, _ in contents)
    return contents


def test_create_leaks_no_master_password(infra_dag, cloud, aws, master_password, airflow_db, capfd):
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    capfd.readouterr()
    run = trigger(infra_dag, action="create")
    out, err = capfd.readouterr()

    assert state_of(run) == "success", task_states(run)
    # Not vacuous: the cluster got the password, and the tasks' output was captured.
    backend = requests.get(f"{cloud}/moto-api/data.json", timeout=10).json()["redshift"]["Cluster"]
    assert [c["master_user_password"] for c in backend] == [master_password]
    settings = xcom(run, "report_connection")
    assert (
        f"host {settings['host']}, port 5439" in out
        and f"Variable 'sparkify_redshift_iam_role': {settings['role_arn']}" in out
    )
    assert master_password not in out + err
    for path, text in airflow_home_contents(Path(airflow_db)):
        assert master_password not in text, path
    with create_session() as session:
        rendered = {
            row.task_id: json.dumps(row.rendered_fields, default=str)
            for row in session.query(RenderedTaskInstanceFields).filter_by(dag_id=run.dag_id, run_id=run.run_id)
        }
    assert "master_user_password" in rendered["create_cluster"]
    assert master_password not in json.dumps(rendered)


# Finding 4 of issue 30: create changes no existing role or group that lacks the project's tags,
# unless the run's param adopt_existing is true; delete then undoes only what create added.

USER_RULE = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "198.51.100.0/24"}]}


def foreign_role(aws, with_policy: bool) -> str:
    """Role ROLE, made by hand: tagged owner=alice only, with or without the S3 read-only policy."""
    iam = aws("iam")
    arn = iam.create_role(
        RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY), Tags=[{"Key": "owner", "Value": "alice"}]
    )["Role"]["Arn"]
    if with_policy:
        iam.attach_role_policy(RoleName=ROLE, PolicyArn=S3_READ_ONLY)
    return arn


def foreign_group(aws) -> str:
    """Group `<cluster>-access` in the default VPC, made by hand with its own SSH rule and tag owner=alice."""
    ec2 = aws("ec2")
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    group_id = ec2.create_security_group(
        GroupName=f"{CLUSTER}-access",
        Description="made by hand",
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "owner", "Value": "alice"}]}],
    )["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[USER_RULE])
    return group_id


def policies(aws) -> list[str]:
    return [p["PolicyArn"] for p in aws("iam").list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]]


def ingress(aws) -> set[tuple[str, int, int, str]]:
    return {
        (rule["IpProtocol"], rule["FromPort"], rule["ToPort"], ip["CidrIp"])
        for rule in group(aws)["IpPermissions"]
        for ip in rule["IpRanges"]
    }


def refusal(out: str, kind: str, name: str) -> None:
    """The message names the resource, the tags it lacks and the param that adopts it."""
    assert f"{kind} {name!r} already exists and was not created by sparkify_infra" in out, out[-3000:]
    assert "it lacks the tags project=sparkify, managed-by=sparkify_infra" in out
    assert "adopt_existing=true" in out


def test_create_refuses_an_untagged_role_and_attaches_nothing(infra_dag, aws, master_password, capfd):
    foreign_role(aws, with_policy=False)

    capfd.readouterr()
    run = trigger(infra_dag, action="create")
    out, err = capfd.readouterr()

    assert state_of(run) == "failed"
    assert task_states(run)["ensure_iam_role"] == "failed"
    refusal(out + err, "IAM role", ROLE)
    assert policies(aws) == [], "no policy was attached to someone else's role"
    assert tags_of(aws("iam").get_role(RoleName=ROLE)["Role"]) == {"owner": "alice"}
    assert cluster(aws) is None


def test_the_refusal_is_a_deterministic_failure(aws):
    """AirflowFailException: the task fails at once, without retries (a retry would find the same tags)."""
    from airflow.sdk.exceptions import AirflowFailException

    from sparkify.infra.iam_role import ensure_role

    foreign_role(aws, with_policy=False)
    with pytest.raises(AirflowFailException, match="adopt_existing"):
        ensure_role(aws("iam"), ROLE)
    assert policies(aws) == []


def test_create_refuses_an_untagged_group_and_adds_no_ingress(infra_dag, aws, master_password, capfd):
    group_id = foreign_group(aws)

    capfd.readouterr()
    run = trigger(infra_dag, action="create")
    out, err = capfd.readouterr()

    assert state_of(run) == "failed"
    assert task_states(run)["ensure_security_group"] == "failed"
    refusal(out + err, "Security group", f"{CLUSTER}-access ({group_id})")
    assert ingress(aws) == {("tcp", 22, 22, "198.51.100.0/24")}, "no rule was added"
    assert tags_of(group(aws)) == {"owner": "alice"}
    assert cluster(aws) is None


def test_create_refuses_to_open_the_port_of_a_found_cluster_in_an_untagged_group(
    infra_dag, aws, master_password, capfd
):
    """The cluster exists, so ensure_security_group does not run: open_port checks the group's tags itself."""
    group_id = foreign_group(aws)
    aws("redshift").create_cluster(
        ClusterIdentifier=CLUSTER,
        NodeType=DEFAULT_NODE_TYPE,
        ClusterType="multi-node",
        NumberOfNodes=DEFAULT_NODES,
        MasterUsername="sparkify_admin",
        MasterUserPassword=master_password,
        DBName="sparkify",
        Port=5439,
        VpcSecurityGroupIds=[group_id],
        Tags=[{"Key": k, "Value": v} for k, v in OWN_TAGS.items()],
    )

    capfd.readouterr()
    run = trigger(infra_dag, action="create")
    out, err = capfd.readouterr()

    assert state_of(run) == "failed"
    assert task_states(run)["open_port"] == "failed"
    refusal(out + err, "Security group", f"{CLUSTER}-access ({group_id})")
    assert ingress(aws) == {("tcp", 22, 22, "198.51.100.0/24")}, "no rule was added"


@pytest.mark.parametrize("role_had_policy", [False, True])
def test_adopt_existing_uses_both_and_delete_undoes_only_what_create_added(
    infra_dag, aws, master_password, role_had_policy
):
    role_arn, group_id = foreign_role(aws, with_policy=role_had_policy), foreign_group(aws)

    run = trigger(infra_dag, action="create", adopt_existing=True)

    assert state_of(run) == "success", task_states(run)
    made = cluster(aws)
    assert [r["IamRoleArn"] for r in made["IamRoles"]] == [role_arn]
    assert [g["VpcSecurityGroupId"] for g in made["VpcSecurityGroups"]] == [group_id]
    assert policies(aws) == [S3_READ_ONLY]
    assert ingress(aws) == {("tcp", 22, 22, "198.51.100.0/24"), ("tcp", 5439, 5439, CIDR)}
    role_tags, group_tags = tags_of(aws("iam").get_role(RoleName=ROLE)["Role"]), tags_of(group(aws))
    for tags in (role_tags, group_tags):
        assert tags["owner"] == "alice" and tags["adopted-by"] == "sparkify_infra"
        assert "managed-by" not in tags, "adopted is not created: delete must not delete it"

    # Adopted once is enough: a later create reuses both without the param.
    assert state_of(trigger(infra_dag, action="create")) == "success"

    deleted = trigger(infra_dag, action="delete", skip_final_snapshot=True)

    assert state_of(deleted) == "success", task_states(deleted)
    assert cluster(aws) is None
    assert (xcom(deleted, "delete_iam_role"), xcom(deleted, "delete_security_group")) == (False, False)
    assert role_names(aws) == {ROLE} and group(aws)["GroupId"] == group_id, "neither was deleted"
    assert policies(aws) == ([S3_READ_ONLY] if role_had_policy else []), "only the policy create attached is gone"
    assert ingress(aws) == {("tcp", 22, 22, "198.51.100.0/24")}, "only the rule create added is gone"
    assert tags_of(aws("iam").get_role(RoleName=ROLE)["Role"]) == {"owner": "alice"}
    assert tags_of(group(aws)) == {"owner": "alice"}
