"""The private surface: every private name of Airflow, a provider, boto3 or fsspec that the product relies on.

PRIVATE_DEPENDENCIES is the one list (docs/development.md, "Private dependencies"). For each entry a test
checks that the upstream name still exists, with the parameters we call or override it with, and that
the public path we depend on still reaches it (real objects, no servers). A completeness test scans
plugins/sparkify and dags/ and fails when the code uses a private name of a third-party class or object
that the table does not declare.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
import textwrap
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.import_scan import ROOT

PLUGINS = ROOT / "plugins"
SCANNED = (PLUGINS / "sparkify", ROOT / "dags")
PROJECT_PACKAGES = ("sparkify", "dags")


class PrivateDependency(NamedTuple):
    ours: str  # path under plugins/:qualified name in our code
    upstream: str  # module:qualified name of the third-party symbol
    params: tuple[str, ...] | None  # its parameter names, for a callable; None for an attribute
    why: str
    breaks: str


PRIVATE_DEPENDENCIES = (
    PrivateDependency(
        "sparkify/executor.py:PreloadingLocalExecutor._spawn_worker",
        "airflow.executors.local_executor:LocalExecutor._spawn_worker",
        ("self",),
        "The one place a worker process is forked; wrapping it hands the worker a queue that forgets "
        "changed project modules.",
        "Renamed or no longer called by start(): workers fork without the wrapper, so a changed "
        "plugins/sparkify is not picked up until the scheduler restarts.",
    ),
    PrivateDependency(
        "sparkify/executor.py:PreloadingLocalExecutor._spawn_worker",
        "airflow.executors.local_executor:LocalExecutor.activity_queue",
        None,
        "_spawn_worker gives the worker whatever activity_queue names when it forks; we swap it for that call.",
        "Read elsewhere (or captured earlier): workers read the raw queue and never refresh the project.",
    ),
    PrivateDependency(
        "sparkify/executor.py:PreloadingLocalExecutor.start",
        "airflow.executors.local_executor:LocalExecutor.is_mp_using_fork",
        None,
        "Preloading only helps forked workers; start() preloads only when LocalExecutor forks.",
        "Renamed: start() raises AttributeError and the scheduler does not start.",
    ),
    PrivateDependency(
        "sparkify/redshift_hook.py:NamedSessionsRedshiftSQLHook._get_conn_params",
        "airflow.providers.amazon.aws.hooks.redshift_sql:RedshiftSQLHook._get_conn_params",
        ("self",),
        "Adds application_name, so redshift_connector does not name the session with inspect.stack().",
        "Not called by get_conn(): sessions lose their name and each connection costs 0.3-0.5 s of CPU again.",
    ),
    PrivateDependency(
        "sparkify/s3_hook.py:CallerNamedS3Hook._get_caller",
        "airflow.providers.amazon.aws.hooks.base_aws:AwsGenericHook._get_caller",
        ("self", "target_function_name"),
        "Names the caller in the user agent without inspecting the stack (about 0.2 s of CPU per client).",
        "Renamed: the provider inspects the stack again; with another signature the call raises TypeError.",
    ),
    PrivateDependency(
        "sparkify/s3_hook.py:share_models",
        "boto3.session:Session._session",
        None,
        "The botocore session a boto3 Session wraps; boto3 has no public accessor to register a data loader.",
        "Gone: share_models raises AttributeError and every S3 hook's get_session() fails.",
    ),
    PrivateDependency(
        "sparkify/operators/wait_for_files.py:WindowFilesSensor._hook_parameters",
        "airflow.providers.amazon.aws.utils.mixins:AwsBaseHookMixin._hook_parameters",
        None,
        "The provider's documented way to pass extra hook arguments (here `caller`) to aws_hook_class.",
        "Not used by `hook`: CallerNamedS3Hook is built without `caller` and raises TypeError.",
    ),
    PrivateDependency(
        "sparkify/operators/wait_for_files.py:WindowFilesSensor._defer",
        "airflow.providers.amazon.aws.sensors.s3:S3KeySensor._defer",
        ("self",),
        "Same name as S3KeySensor's, so its execute_complete re-defers with our S3KeysExistTrigger.",
        "Renamed upstream: a re-deferral from execute_complete uses the provider's S3KeyTrigger instead.",
    ),
    PrivateDependency(
        "sparkify/operators/warehouse_operator.py:WarehouseOperator._hook",
        "airflow.providers.common.sql.operators.sql:BaseSQLOperator._hook",
        None,
        "get_db_hook() returns self._hook; ours builds the named-session Redshift hook.",
        "Not used by get_db_hook(): the operators get a plain RedshiftSQLHook with unnamed sessions.",
    ),
    PrivateDependency(
        "sparkify/late_run.py:ScheduledIntervalEnd._evaluate_with",
        "airflow.serialization.definitions.deadline:SerializedReferenceModels.SerializedBaseDeadlineReference"
        "._evaluate_with",
        ("self", "session", "kwargs"),
        "The method Airflow's docs tell custom deadline references to implement; the scheduler calls it.",
        "Renamed: the late-run alert's deadline is never computed and no late run is reported.",
    ),
    PrivateDependency(
        "sparkify/boto_s3_filesystem.py:BotoS3FileSystem._open",
        "fsspec.spec:AbstractFileSystem._open",
        ("self", "path", "mode", "block_size", "autocommit", "cache_options", "kwargs"),
        "fsspec's hook for implementers: open() builds the file through it.",
        "ObjectStoragePath.open() on s3:// fails without s3fs.",
    ),
    PrivateDependency(
        "sparkify/boto_s3_filesystem.py:BotoS3FileSystem._rm",
        "fsspec.spec:AbstractFileSystem._rm",
        ("self", "path"),
        "fsspec's hook for implementers: the base rm_file() deletes through it.",
        "Deleting through the base class's path raises NotImplementedError.",
    ),
    PrivateDependency(
        "sparkify/boto_s3_filesystem.py:BotoS3FileSystem.split_path",
        "fsspec.spec:AbstractFileSystem._strip_protocol",
        ("cls", "path"),
        "Turns s3://bucket/key (or s3a://) into bucket/key from the class's `protocol`.",
        "Bucket and key are split wrongly: every call of the filesystem names the wrong object.",
    ),
    PrivateDependency(
        "sparkify/boto_s3_filesystem.py:BotoS3File._fetch_range",
        "fsspec.spec:AbstractBufferedFile._fetch_range",
        ("self", "start", "end"),
        "fsspec's hook for implementers: read() fetches [start, end) through it; we send a ranged GET.",
        "Reading a report from S3 raises NotImplementedError or reads the wrong bytes.",
    ),
    PrivateDependency(
        "sparkify/boto_s3_filesystem.py:BotoS3File._initiate_upload",
        "fsspec.spec:AbstractBufferedFile._initiate_upload",
        ("self",),
        "fsspec's hook for implementers, called before the first chunk; ours does nothing (one PUT on close).",
        "Writing raises NotImplementedError.",
    ),
    PrivateDependency(
        "sparkify/boto_s3_filesystem.py:BotoS3File._upload_chunk",
        "fsspec.spec:AbstractBufferedFile._upload_chunk",
        ("self", "final"),
        "fsspec's hook for implementers: flush/close hand it the buffer; ours PUTs the object when final.",
        "The object is never written, or written in parts a reader can see half-done.",
    ),
)


def resolve(target: str) -> Any:
    """The object `module:qualified.name` names (a class attribute, looked up without calling descriptors)."""
    module_name, _, qualified = target.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in qualified.split("."):
        found = inspect.getattr_static(found, part)
    return found


def ours_target(entry: PrivateDependency) -> str:
    path, _, qualified = entry.ours.partition(":")
    return f"{path.removesuffix('.py').replace('/', '.')}:{qualified}"


def scan_key(entry: PrivateDependency) -> tuple[str, str]:
    """(our file, private name) as the completeness scan reports it."""
    return entry.ours.partition(":")[0], entry.upstream.rpartition(".")[2]


def test_the_table_is_well_formed():
    assert len({(e.ours, e.upstream) for e in PRIVATE_DEPENDENCIES}) == len(PRIVATE_DEPENDENCIES)
    for entry in PRIVATE_DEPENDENCIES:
        assert (PLUGINS / entry.ours.partition(":")[0]).is_file(), entry.ours
        assert entry.why and entry.breaks, entry
        assert set(BEHAVIOUR) >= {entry.upstream}, f"no behaviour check for {entry.upstream}"


@pytest.mark.parametrize("entry", PRIVATE_DEPENDENCIES, ids=lambda e: e.upstream)
def test_our_symbol_exists(entry: PrivateDependency):
    resolve(ours_target(entry))


@pytest.mark.parametrize("entry", [e for e in PRIVATE_DEPENDENCIES if e.params is not None], ids=lambda e: e.upstream)
def test_the_upstream_symbol_keeps_its_parameters(entry: PrivateDependency):
    found = resolve(entry.upstream)
    function = found.__func__ if isinstance(found, (classmethod, staticmethod)) else found
    assert callable(function), f"{entry.upstream} is no longer callable: {found!r}"
    assert tuple(inspect.signature(function).parameters) == entry.params


@pytest.mark.parametrize("entry", PRIVATE_DEPENDENCIES, ids=lambda e: e.upstream)
def test_the_upstream_behaviour_we_rely_on(entry: PrivateDependency, monkeypatch: pytest.MonkeyPatch):
    BEHAVIOUR[entry.upstream](monkeypatch)


# --- behaviour checks, one per upstream symbol ---------------------------------------------------------------


def start_spawns_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.executors.local_executor import LocalExecutor

    spawned: list[int] = []

    class Counting(LocalExecutor):
        def _spawn_worker(self) -> None:
            spawned.append(1)

    executor = Counting(parallelism=3)
    executor.is_mp_using_fork = True
    executor.start()
    assert len(spawned) == 3  # start() forks every worker through _spawn_worker


def worker_reads_activity_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    from sparkify.executor import FreshProjectModulesQueue, PreloadingLocalExecutor

    handed: list[dict[str, Any]] = []

    class NoFork:
        def __init__(self, target: Callable, kwargs: dict[str, Any]) -> None:
            handed.append(kwargs)
            self.pid = 12345

        def start(self) -> None:
            pass

    monkeypatch.setattr(multiprocessing, "Process", NoFork)  # local_executor calls multiprocessing.Process
    executor = PreloadingLocalExecutor(parallelism=1)
    executor.activity_queue = raw = object()  # type: ignore[assignment]
    executor.result_queue = object()  # type: ignore[assignment]
    executor._unread_messages = object()  # type: ignore[assignment]
    executor.workers = {}
    executor._project_snapshot = {"sparkify": (__file__, 0, 0)}
    executor._spawn_worker()
    assert len(handed) == 1
    assert isinstance(handed[0]["input"], FreshProjectModulesQueue)  # the worker got what we swapped in
    assert handed[0]["input"]._queue is raw
    assert executor.activity_queue is raw  # and the executor keeps its own queue


def fork_flag_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    from airflow.executors.local_executor import LocalExecutor

    executor = LocalExecutor(parallelism=1)
    assert executor.is_mp_using_fork is (multiprocessing.get_start_method() == "fork")


def get_conn_uses_conn_params(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.amazon.aws.hooks import redshift_sql
    from airflow.sdk import Connection

    from sparkify.redshift_hook import NamedSessionsRedshiftSQLHook

    connected: list[dict[str, Any]] = []
    monkeypatch.setattr(redshift_sql.redshift_connector, "connect", lambda **kwargs: connected.append(kwargs))
    connection = Connection(
        conn_id="warehouse", conn_type="redshift", host="warehouse.example", login="u", password="p", port=5439
    )
    named = Connection(**{**connection.to_dict(), "extra": json.dumps({"application_name": "from_extras"})})
    for conn, expected in ((connection, "task.name"), (named, "from_extras")):
        hook = NamedSessionsRedshiftSQLHook(redshift_conn_id="warehouse", application_name="task.name")
        monkeypatch.setattr(hook, "get_connection", lambda conn_id, conn=conn: conn)
        hook.get_conn()
        assert connected[-1]["application_name"] == expected  # ours, unless the connection's extras set one
        assert connected[-1]["host"] == "warehouse.example"


def user_agent_names_get_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "private-surface-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "-")

    class Marked(S3Hook):
        def _get_caller(self, target_function_name: str = "execute") -> str:
            return "PrivateSurfaceMarker"

    client = Marked(aws_conn_id=None, region_name="us-east-1").get_conn()  # makes a client, sends nothing
    assert "Caller/PrivateSurfaceMarker" in client.meta.config.user_agent_extra.split()


def session_wraps_botocore_session(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    import botocore.loaders
    import botocore.session

    reads: list[str] = []

    class CountingLoader(botocore.loaders.Loader):
        def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
            reads.append(f"{service_name}/{type_name}")
            return super().load_service_model(service_name, type_name, api_version)

    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="surface", aws_secret_access_key="-")
    assert isinstance(session._session, botocore.session.Session)
    session._session.register_component("data_loader", CountingLoader())
    session.client("s3")
    assert "s3/service-2" in reads  # the client read S3's model through the registered loader


def hook_built_from_hook_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    from sparkify.operators.wait_for_files import WindowFilesSensor
    from sparkify.s3_hook import CallerNamedS3Hook

    sensor = WindowFilesSensor(task_id="wait", s3_bucket="bucket", s3_key="key", aws_conn_id="files")
    assert isinstance(sensor.hook, CallerNamedS3Hook)
    assert sensor.hook.caller == "WindowFilesSensor"
    assert sensor.hook.aws_conn_id == "files"  # the provider's parameters still come through


def execute_complete_redefers(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

    deferred: list[int] = []

    class Recording(S3KeySensor):
        def _defer(self) -> None:
            deferred.append(1)

    sensor = Recording(task_id="wait", bucket_name="b", bucket_key="k", check_fn=lambda files, **context: False)
    sensor.execute_complete(context={}, event={"status": "running", "files": []})
    assert deferred == [1]


def get_db_hook_returns_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    from sparkify.operators.warehouse_operator import WarehouseOperator
    from sparkify.redshift_hook import NamedSessionsRedshiftSQLHook

    operator = WarehouseOperator(task_id="load", redshift_conn_id="warehouse")
    hook = operator.get_db_hook()
    assert isinstance(hook, NamedSessionsRedshiftSQLHook)
    assert hook.application_name.endswith(".load")  # ours: named after the task
    assert hook is operator.get_db_hook()


def deadline_calls_evaluate_with(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.serialization.definitions.deadline import SerializedReferenceModels

    from sparkify.late_run import ScheduledIntervalEnd

    calls: list[dict[str, Any]] = []
    end = datetime(2026, 12, 1, tzinfo=timezone.utc)

    class Recording(ScheduledIntervalEnd):
        def _evaluate_with(self, **kwargs: Any) -> datetime | None:
            calls.append(kwargs)
            return end

    session: Any = object()  # never used: Recording records it
    wrapped = SerializedReferenceModels.SerializedCustomReference(Recording())
    found = wrapped.evaluate_with(
        session=session, interval=timedelta(minutes=5), dag_id="etl", run_id="r", other="ignored"
    )
    assert calls == [{"session": session, "dag_id": "etl", "run_id": "r"}]  # our required_kwargs only
    assert found == end + timedelta(minutes=5)


def memory_file_system(store: dict[str, bytes], calls: list[tuple]) -> type:
    """An fsspec filesystem over `store` that records in `calls` which implementer hooks fsspec calls."""
    from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

    class File(AbstractBufferedFile):
        def _fetch_range(self, start: int, end: int) -> bytes:
            calls.append(("_fetch_range", start, end))
            return store[self.path][start:end]

        def _initiate_upload(self) -> None:
            calls.append(("_initiate_upload",))

        def _upload_chunk(self, final: bool = False) -> bool:
            calls.append(("_upload_chunk", final))
            if final:
                store[self.path] = self.buffer.getvalue()
            return final

    class FileSystem(AbstractFileSystem):
        protocol = ("mem-surface",)
        cachable = False

        def info(self, path: str, **kwargs: Any) -> dict:
            return {"name": path, "size": len(store[path]), "type": "file"}

        def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> File:
            calls.append(("_open", path, mode))
            return File(self, path, mode, **kwargs)

        def _rm(self, path: str) -> None:
            calls.append(("_rm", path))
            del store[path]

    return FileSystem


def open_calls_open(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple] = []
    file_system = memory_file_system({"a/b": b"data"}, calls)
    with file_system().open("a/b", "rb") as file:
        assert file.read() == b"data"
    assert calls[0] == ("_open", "a/b", "rb")


def rm_file_calls_rm(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple] = []
    store = {"a/b": b"data"}
    file_system = memory_file_system(store, calls)
    file_system().rm_file("a/b")
    assert calls == [("_rm", "a/b")] and store == {}


def strip_protocol_uses_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    from sparkify.boto_s3_filesystem import BotoS3FileSystem

    assert BotoS3FileSystem._strip_protocol("s3://bucket/a/key") == "bucket/a/key"
    assert BotoS3FileSystem._strip_protocol("s3a://bucket/folder/") == "bucket/folder"
    assert BotoS3FileSystem.split_path("s3://bucket/a/key") == ("bucket", "a/key")


def read_calls_fetch_range(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple] = []
    file_system = memory_file_system({"a/b": b"0123456789"}, calls)
    with file_system().open("a/b", "rb", cache_type="none") as file:
        file.seek(2)
        assert file.read(3) == b"234"
    assert ("_fetch_range", 2, 5) in calls  # end is exclusive


def write_uploads_once_on_close(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple] = []
    store: dict[str, bytes] = {}
    file_system = memory_file_system(store, calls)
    with file_system().open("a/b", "wb") as file:
        file.write(b"whole")
    assert store == {"a/b": b"whole"}
    assert [c for c in calls if c[0] != "_open"] == [("_initiate_upload",), ("_upload_chunk", True)]


BEHAVIOUR: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "airflow.executors.local_executor:LocalExecutor._spawn_worker": start_spawns_workers,
    "airflow.executors.local_executor:LocalExecutor.activity_queue": worker_reads_activity_queue,
    "airflow.executors.local_executor:LocalExecutor.is_mp_using_fork": fork_flag_is_set,
    "airflow.providers.amazon.aws.hooks.redshift_sql:RedshiftSQLHook._get_conn_params": get_conn_uses_conn_params,
    "airflow.providers.amazon.aws.hooks.base_aws:AwsGenericHook._get_caller": user_agent_names_get_caller,
    "boto3.session:Session._session": session_wraps_botocore_session,
    "airflow.providers.amazon.aws.utils.mixins:AwsBaseHookMixin._hook_parameters": hook_built_from_hook_parameters,
    "airflow.providers.amazon.aws.sensors.s3:S3KeySensor._defer": execute_complete_redefers,
    "airflow.providers.common.sql.operators.sql:BaseSQLOperator._hook": get_db_hook_returns_hook,
    PRIVATE_DEPENDENCIES[9].upstream: deadline_calls_evaluate_with,
    "fsspec.spec:AbstractFileSystem._open": open_calls_open,
    "fsspec.spec:AbstractFileSystem._rm": rm_file_calls_rm,
    "fsspec.spec:AbstractFileSystem._strip_protocol": strip_protocol_uses_protocol,
    "fsspec.spec:AbstractBufferedFile._fetch_range": read_calls_fetch_range,
    "fsspec.spec:AbstractBufferedFile._initiate_upload": write_uploads_once_on_close,
    "fsspec.spec:AbstractBufferedFile._upload_chunk": write_uploads_once_on_close,
}


# --- completeness: the scan --------------------------------------------------------------------------------


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def is_project(cls: type) -> bool:
    return cls.__module__.split(".")[0] in (*PROJECT_PACKAGES, "builtins")


def python_files() -> Iterator[Path]:
    for folder in SCANNED:
        yield from sorted(folder.rglob("*.py"))


def trees() -> Iterator[tuple[Path, ast.Module]]:
    for path in python_files():
        yield path, parsed(path)


@functools.cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


@functools.cache
def project_private_names() -> frozenset[str]:
    """Every `_name` the project itself defines: functions, classes, assignments, attribute stores, imports."""
    names: set[str] = set()
    for _, tree in trees():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.split(".")[0])
    return frozenset(name for name in names if is_private(name))


@functools.cache
def project_attribute_reads() -> frozenset[str]:
    return frozenset(node.attr for _, tree in trees() for node in ast.walk(tree) if isinstance(node, ast.Attribute))


def upstream_names(cls: type) -> frozenset[str]:
    """The names the third-party classes of `cls`'s MRO define, or set on `self` in their source."""
    return frozenset().union(*(names_of(base) for base in cls.__mro__[1:] if not is_project(base)))


@functools.cache
def names_of(base: type) -> frozenset[str]:
    names = set(vars(base))
    try:
        source = textwrap.dedent(inspect.getsource(base))
    except (OSError, TypeError):
        return frozenset(names)
    names.update(
        node.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"
    )
    return frozenset(names)


def private_uses(path: Path, module: str) -> set[str]:
    """The private names that `path` (module `module`) uses and that belong to a third-party class, object
    or module:
    - `from third_party import _y`;
    - `anything._y` where the project defines no `_y` (so it is an upstream object's);
    - in a class with third-party bases: a `_y` method, or `self._y`/`super()._y`/`Class._y`, that a
      third-party base defines (an override, or a read of its internals);
    - in such a class, a private method that no project code refers to: only upstream calls it.
    """
    tree = parsed(path)
    ours = project_private_names() | {
        node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and not (node.module or "").startswith(PROJECT_PACKAGES)
        ):
            found.update(alias.name for alias in node.names if is_private(alias.name))
        elif isinstance(node, ast.Attribute) and is_private(node.attr) and node.attr not in ours:
            found.add(node.attr)
        elif isinstance(node, ast.ClassDef) and node.bases:
            cls = getattr(importlib.import_module(module), node.name, None)
            assert cls is not None, f"{path}: the scan handles module-level classes only, not {node.name}"
            upstream = upstream_names(cls)
            if upstream:
                found.update(overrides_and_reads(node, upstream))
                found.update(private_methods_not_referred_to(node, path))
    return found


def overrides_and_reads(cls_node: ast.ClassDef, upstream: frozenset[str]) -> set[str]:
    found = set()
    for node in ast.walk(cls_node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and is_private(node.name):
            found.add(node.name)
        elif isinstance(node, ast.Attribute) and is_private(node.attr) and reads_own(node.value, cls_node.name):
            found.add(node.attr)
    return found & upstream


def reads_own(value: ast.expr, class_name: str) -> bool:
    if isinstance(value, ast.Name):
        return value.id in ("self", "cls", class_name)
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super"


def private_methods_not_referred_to(cls_node: ast.ClassDef, path: Path) -> set[str]:
    referred = project_attribute_reads() | {
        node.attr for node in ast.walk(parsed(path)) if isinstance(node, ast.Attribute)
    }
    return {
        item.name
        for item in cls_node.body
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
        and is_private(item.name)
        and item.name not in referred
    }


@functools.cache
def scanned_private_uses() -> frozenset[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in python_files():
        base = PLUGINS if path.is_relative_to(PLUGINS) else ROOT
        relative = path.relative_to(base)
        module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        found.update((str(relative), name) for name in private_uses(path, module))
    return frozenset(found)


def test_every_private_dependency_the_scan_finds_is_declared():
    declared = {scan_key(entry) for entry in PRIVATE_DEPENDENCIES}
    undeclared = sorted(scanned_private_uses() - declared)
    assert undeclared == [], (
        f"private third-party names used but not declared in PRIVATE_DEPENDENCIES: {undeclared}; "
        "add an entry (and a behaviour check), or use a public API"
    )


def test_the_scan_finds_what_the_table_declares_with_a_private_name():
    """Each `_` entry is one the scan can see, so the scan is not blind (a removed use is also noticed)."""
    found = scanned_private_uses()
    declared = {scan_key(entry) for entry in PRIVATE_DEPENDENCIES if is_private(scan_key(entry)[1])}
    assert sorted(declared - found) == []


def test_the_scan_sees_an_undeclared_override_and_attribute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The scan itself: a new override of a provider's private method, and `session._session`, are found."""
    (tmp_path / "surface_probe.py").write_text(
        textwrap.dedent(
            """
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            class Probe(S3Hook):
                def _get_caller(self, target_function_name="execute"):
                    return "probe"

                def _unheard_of(self):
                    return self._conn_id_in_a_future_release

            def loader(session):
                return session._session
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert private_uses(tmp_path / "surface_probe.py", "surface_probe") == {
        "_get_caller",  # overrides AwsGenericHook's
        "_session",  # an attribute of an object the project does not define
        "_unheard_of",  # a private method no project code calls: only upstream can
        "_conn_id_in_a_future_release",  # read from self, defined by no project code
    }
