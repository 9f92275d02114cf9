"""`make import-dwh-cfg CFG=dwh.cfg`: the script versions' dwh.cfg as Airflow connections and Variables.

Reads the sections the seed scripts used:

    [AWS]       KEY and SECRET (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), optional REGION
    [CLUSTER]   HOST, DB_NAME, DB_USER, DB_PASSWORD, DB_PORT
    [IAM_ROLE]  ARN
    [S3]        LOG_DATA, LOG_JSONPATH, SONG_DATA

and writes an env file (default `.env.dwh`, git-ignored, mode 600) of AIRFLOW_CONN_* and
AIRFLOW_VAR_* lines. HOST and ARN may be empty until `sparkify_infra` has created the
cluster and its role. Secrets go to that file only: nothing printed, and no error
message, quotes a value that could be one.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from local_stack.settings import PROJECT_ROOT

DEFAULT_OUT = PROJECT_ROOT / ".env.dwh"
DEFAULT_REGION = "us-west-2"
REQUIRED = {
    "CLUSTER": ("HOST", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_PORT"),
    "IAM_ROLE": ("ARN",),
    "S3": ("LOG_DATA", "LOG_JSONPATH", "SONG_DATA"),
}
AWS_KEYS = {"access key": ("KEY", "AWS_ACCESS_KEY_ID"), "secret": ("SECRET", "AWS_SECRET_ACCESS_KEY")}
MAY_BE_EMPTY = {("CLUSTER", "HOST"), ("IAM_ROLE", "ARN"), ("AWS", "REGION")}
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class DwhConfigError(ValueError):
    """A malformed or incomplete dwh.cfg; the message names the section and key, never a secret."""


@dataclass(frozen=True)
class DwhConfig:
    """The settings of one dwh.cfg, validated."""

    access_key: str
    secret_key: str
    region: str
    host: str
    port: int
    database: str
    user: str
    password: str
    role_arn: str
    bucket: str
    log_prefix: str
    song_prefix: str
    log_jsonpath: str


def read_dwh_cfg(path: Path) -> DwhConfig:
    """Parse and validate `path`; raises DwhConfigError naming the section and key at fault."""
    name = path.name
    if not path.is_file():
        raise DwhConfigError(f"{path}: no such file.")
    sections = _parse(_read_text(path), name)
    for section, keys in (("AWS", ()), *REQUIRED.items()):
        if section not in sections:
            needs = f" (it needs {', '.join(keys)})" if keys else ""
            raise DwhConfigError(f"{name}: section [{section}] is missing{needs}.")

    def value(section: str, key: str) -> str:
        if key not in sections[section]:
            raise DwhConfigError(f"{name}: [{section}] {key} is missing.")
        text = sections[section][key]
        if not text and (section, key) not in MAY_BE_EMPTY:
            raise DwhConfigError(f"{name}: [{section}] {key} is empty.")
        return text

    aws = {what: _aws_key(sections["AWS"], keys, name) for what, keys in AWS_KEYS.items()}
    region = sections["AWS"].get("REGION") or DEFAULT_REGION
    if not _REGION.fullmatch(region):
        raise DwhConfigError(f"{name}: [AWS] REGION {region!r} is not an AWS region such as us-west-2.")
    role_arn = value("IAM_ROLE", "ARN")
    if role_arn and not _ROLE_ARN.fullmatch(role_arn):
        raise DwhConfigError(
            f"{name}: [IAM_ROLE] ARN {role_arn!r} is not a role ARN (arn:aws:iam::<12-digit account>:role/<name>)."
        )
    bucket, log_prefix = _s3_location(value("S3", "LOG_DATA"), "LOG_DATA", name)
    song_bucket, song_prefix = _s3_location(value("S3", "SONG_DATA"), "SONG_DATA", name)
    jsonpath_bucket, jsonpath = _s3_location(value("S3", "LOG_JSONPATH"), "LOG_JSONPATH", name, is_object=True)
    for key, other in (("SONG_DATA", song_bucket), ("LOG_JSONPATH", jsonpath_bucket)):
        if other != bucket:
            raise DwhConfigError(
                f"{name}: [S3] {key} is in bucket {other!r} but LOG_DATA in {bucket!r}; "
                f"the pipeline reads one bucket (Variable sparkify_s3_bucket)."
            )
    return DwhConfig(
        access_key=aws["access key"],
        secret_key=aws["secret"],
        region=region,
        host=value("CLUSTER", "HOST"),
        port=_port(value("CLUSTER", "DB_PORT"), name),
        database=value("CLUSTER", "DB_NAME"),
        user=value("CLUSTER", "DB_USER"),
        password=value("CLUSTER", "DB_PASSWORD"),
        role_arn=role_arn,
        bucket=bucket,
        log_prefix=log_prefix,
        song_prefix=song_prefix,
        log_jsonpath=jsonpath,
    )


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        position = len(data) - len(error.object) + error.start  # in the file, counting a BOM the codec dropped
        line = data[:position].count(b"\n") + 1
    # Raised outside the except block: the decode error quotes the byte, which may be part of a secret.
    raise DwhConfigError(
        f"{path.name} line {line}: not UTF-8 text (byte offset {position}; the content is not "
        f"shown). Save the file as UTF-8."
    )


def _parse(text: str, name: str) -> dict[str, dict[str, str]]:
    parser = configparser.RawConfigParser(delimiters=("=", ":"))  # raw: a "%" in a password stays as it is
    parser.optionxform = str.upper  # type: ignore[assignment,method-assign]  # configparser's documented hook
    problem = None
    try:
        parser.read_string(text, source=name)
    except configparser.MissingSectionHeaderError as error:
        problem = f"{name} line {error.lineno}: a setting before the first [SECTION] header"
    except configparser.DuplicateSectionError as error:
        problem = f"{name} line {error.lineno}: section [{error.section}] appears twice."
    except configparser.DuplicateOptionError as error:
        problem = f"{name} line {error.lineno}: [{error.section}] {error.option} appears twice."
    except configparser.ParsingError as error:
        problem = f"{name} line {', '.join(str(n) for n, _ in error.errors)}: expected KEY=value or a [SECTION] header"
    if problem:  # raised outside the except block: configparser's error quotes the line, which may be a secret
        raise DwhConfigError(
            problem if problem.endswith(".") else f"{problem} (the line is not shown: it may hold a secret)."
        )
    sections: dict[str, dict[str, str]] = {}
    for section in parser.sections():
        if section.upper() in sections:
            raise DwhConfigError(f"{name}: section [{section.upper()}] appears twice.")
        sections[section.upper()] = {
            key: _unquote(raw, section.upper(), key, name) for key, raw in parser.items(section)
        }
    return sections


def _unquote(raw: str, section: str, key: str, name: str) -> str:
    text = raw.strip()
    if "\n" in text:
        raise DwhConfigError(f"{name}: [{section}] {key} continues on the next line; put it on one line.")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return text


def _aws_key(section: dict[str, str], keys: tuple[str, str], name: str) -> str:
    given = {key: section[key] for key in keys if section.get(key)}
    if not given:
        raise DwhConfigError(f"{name}: [AWS] {keys[0]} (or {keys[1]}) is missing.")
    if len(set(given.values())) > 1:
        raise DwhConfigError(f"{name}: [AWS] {keys[0]} and {keys[1]} differ; keep one of them.")
    return next(iter(given.values()))


def _port(text: str, name: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise DwhConfigError(f"{name}: [CLUSTER] DB_PORT {text!r} is not a port number (1-65535).")
    return int(text)


def _s3_location(uri: str, key: str, name: str, is_object: bool = False) -> tuple[str, str]:
    """(bucket, key or folder prefix ending in "/") of an s3:// URI."""
    parts = urlsplit(uri)
    path = parts.path.lstrip("/")
    what = "s3://bucket/key" if is_object else "s3://bucket/prefix"
    if parts.scheme != "s3" or not _BUCKET.fullmatch(parts.netloc or "") or not path or "'" in path:
        raise DwhConfigError(f"{name}: [S3] {key} {uri!r} is not an {what} URI.")
    if is_object:
        if path.endswith("/"):
            raise DwhConfigError(f"{name}: [S3] {key} {uri!r} names a folder, not the JSONPaths file.")
        return parts.netloc, path
    return parts.netloc, path.rstrip("/") + "/"


def env_lines(cfg: DwhConfig) -> list[str]:
    """The connections and Variables, one `NAME='value'` line each."""
    warehouse = {
        "conn_type": "redshift",
        "host": cfg.host,
        "port": cfg.port,
        "login": cfg.user,
        "password": cfg.password,
        "schema": cfg.database,
    }
    aws = {
        "conn_type": "aws",
        "login": cfg.access_key,
        "password": cfg.secret_key,
        "extra": {"region_name": cfg.region},
    }
    values = {
        "AIRFLOW_CONN_REDSHIFT": _json(warehouse),
        "AIRFLOW_CONN_AWS_DEFAULT": _json(aws),
        "AIRFLOW_VAR_SPARKIFY_S3_BUCKET": cfg.bucket,
        "AIRFLOW_VAR_SPARKIFY_LOG_PREFIX": cfg.log_prefix,
        "AIRFLOW_VAR_SPARKIFY_SONG_PREFIX": cfg.song_prefix,
        "AIRFLOW_VAR_SPARKIFY_LOG_JSONPATH": cfg.log_jsonpath,
        "AIRFLOW_VAR_SPARKIFY_S3_REGION": cfg.region,
        # COPY's IAM_ROLE. Not the connection's role_arn extra: the Amazon provider would
        # assume that role for the task's own S3 and AWS calls, and it trusts only Redshift.
        "AIRFLOW_VAR_SPARKIFY_REDSHIFT_IAM_ROLE": cfg.role_arn,
    }
    return [f"{name}='{value}'" for name, value in values.items()]


def _json(value: dict) -> str:
    r"""JSON that reads the same inside '...' for shells and for dotenv (which turns \\ into \ there).

    A quote is written \u0027 and a backslash \u005c: the same JSON, with no ' and no \\ left.
    """
    return json.dumps(value).replace("\\\\", "\\u005c").replace("'", "\\u0027")


def write_env_file(cfg: DwhConfig, source: Path, out: Path) -> Path:
    """Replace `out` atomically with a file only its owner can read."""
    header = [
        f"# Airflow connections and Variables imported from {source.resolve()} by `make import-dwh-cfg`.",
        "# It holds secrets: keep it out of version control. Load it into Airflow's environment,",
        "# for example: set -a; . ./.env.dwh; set +a",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")  # mode 600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write("\n".join([*header, *env_lines(cfg)]) + "\n")
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out


def summary(cfg: DwhConfig, out: Path) -> str:
    """What was written, without a secret."""
    role = cfg.role_arn or "none: [IAM_ROLE] ARN is empty, so COPY uses the access key"
    host = cfg.host or "(empty: create the cluster with the sparkify_infra DAG, then set [CLUSTER] HOST)"
    return "\n".join(
        [
            f"Wrote {out} (readable only by you):",
            f"  connection redshift     type redshift, host {host}, port {cfg.port}, database {cfg.database}, "
            f"user {cfg.user}, password set",
            f"  connection aws_default  type aws, access key and secret set, region {cfg.region}",
            f"  Variables  sparkify_s3_bucket={cfg.bucket} sparkify_log_prefix={cfg.log_prefix} "
            f"sparkify_song_prefix={cfg.song_prefix} sparkify_log_jsonpath={cfg.log_jsonpath} "
            f"sparkify_s3_region={cfg.region}",
            f"             sparkify_redshift_iam_role={role}",
            f"Load it into Airflow's environment before starting Airflow, e.g. set -a; . {out}; set +a",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make import-dwh-cfg", description=__doc__.split("\n\n")[0])
    parser.add_argument("cfg", type=Path, help="the dwh.cfg of the script versions")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"env file to write (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    try:
        cfg = read_dwh_cfg(args.cfg)
    except DwhConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary(cfg, write_env_file(cfg, args.cfg, args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
