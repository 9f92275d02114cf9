"""`make import-dwh-cfg`: dwh.cfg in, Airflow connections and Variables out; no secret ever printed."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest
from dotenv import dotenv_values

from local_stack.dwh_cfg import main, read_dwh_cfg

KEY, SECRET, PASSWORD = "TESTIMPORTACCESSKEY0", "s3cr3t/Key+with%signs", "Passw0rd%'q\\n$HOME\"x"
ARN = "arn:aws:iam::123456789012:role/dwhRole"
UDACITY_CFG = f"""
[AWS]
KEY={KEY}
SECRET={SECRET}

[CLUSTER]
HOST='dwhcluster.abc123.us-west-2.redshift.amazonaws.com'
DB_NAME='dwh'
DB_USER='dwhuser'
DB_PASSWORD="{PASSWORD}"
DB_PORT='5439'

[IAM_ROLE]
ARN='{ARN}'

[S3]
LOG_DATA='s3://udacity-dend/log_data'
LOG_JSONPATH='s3://udacity-dend/log_json_path.json'
SONG_DATA='s3://udacity-dend/song_data'

[DWH]
DWH_CLUSTER_TYPE=multi-node
DWH_DB_PASSWORD=another-secret
"""
SECRETS = (KEY, SECRET, PASSWORD, "another-secret")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dwh.cfg"
    path.write_text(text)
    return path


def run(tmp_path: Path, text: str, capsys) -> tuple[int, str, Path]:
    out = tmp_path / "out" / ".env.dwh"
    code = main([str(write(tmp_path, text)), "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err, out


def without_secrets(output: str) -> str:
    found = [secret for secret in SECRETS if secret in output]
    assert not found, f"printed a secret: {found}"
    return output


def test_the_udacity_config_becomes_connections_and_variables(tmp_path, capsys):
    code, output, out = run(tmp_path, UDACITY_CFG, capsys)

    assert code == 0, output
    values = dotenv_values(out)
    assert json.loads(values["AIRFLOW_CONN_REDSHIFT"]) == {
        "conn_type": "redshift",
        "host": "dwhcluster.abc123.us-west-2.redshift.amazonaws.com",
        "port": 5439,
        "login": "dwhuser",
        "password": PASSWORD,
        "schema": "dwh",
    }
    # No role_arn on the connection: the provider would assume it for the task's own calls.
    assert json.loads(values["AIRFLOW_CONN_AWS_DEFAULT"]) == {
        "conn_type": "aws",
        "login": KEY,
        "password": SECRET,
        "extra": {"region_name": "us-west-2"},
    }
    assert {k: v for k, v in values.items() if k.startswith("AIRFLOW_VAR_")} == {
        "AIRFLOW_VAR_SPARKIFY_S3_BUCKET": "udacity-dend",
        "AIRFLOW_VAR_SPARKIFY_LOG_PREFIX": "log_data/",
        "AIRFLOW_VAR_SPARKIFY_SONG_PREFIX": "song_data/",
        "AIRFLOW_VAR_SPARKIFY_LOG_JSONPATH": "log_json_path.json",
        "AIRFLOW_VAR_SPARKIFY_S3_REGION": "us-west-2",
        "AIRFLOW_VAR_SPARKIFY_REDSHIFT_IAM_ROLE": ARN,
    }
    without_secrets(output)
    assert f"Wrote {out}" in output and "password set" in output and ARN in output


def test_the_file_is_private_and_reads_the_same_in_a_shell(tmp_path, capsys):
    code, output, out = run(tmp_path, UDACITY_CFG, capsys)

    assert code == 0, output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name], "no temporary file left behind"
    shell = subprocess.run(
        ["bash", "-c", 'set -a; . "$1"; env -0', "bash", str(out)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    exported = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
    assert {k: exported[k] for k in dotenv_values(out)} == dotenv_values(out)


def test_airflow_reads_the_connections(tmp_path, capsys, monkeypatch):
    from airflow.models.connection import Connection

    code, output, out = run(tmp_path, UDACITY_CFG, capsys)
    assert code == 0, output
    values = dotenv_values(out)
    redshift = Connection.from_json(values["AIRFLOW_CONN_REDSHIFT"], conn_id="redshift")
    aws = Connection.from_json(values["AIRFLOW_CONN_AWS_DEFAULT"], conn_id="aws_default")
    assert (redshift.conn_type, redshift.password, redshift.port) == ("redshift", PASSWORD, 5439)
    assert (aws.login, aws.password, aws.extra_dejson) == (KEY, SECRET, {"region_name": "us-west-2"})


def test_aws_access_key_id_spelling_region_and_empty_host_and_arn(tmp_path, capsys):
    text = (
        UDACITY_CFG.replace(
            f"KEY={KEY}\nSECRET={SECRET}", f"AWS_ACCESS_KEY_ID={KEY}\nAWS_SECRET_ACCESS_KEY={SECRET}\nREGION=eu-west-1"
        )
        .replace("HOST='dwhcluster.abc123.us-west-2.redshift.amazonaws.com'", "HOST=''")
        .replace(f"ARN='{ARN}'", "ARN=''")
    )
    code, output, out = run(tmp_path, text, capsys)

    assert code == 0, output
    values = dotenv_values(out)
    assert json.loads(values["AIRFLOW_CONN_AWS_DEFAULT"]) == {
        "conn_type": "aws",
        "login": KEY,
        "password": SECRET,
        "extra": {"region_name": "eu-west-1"},
    }
    assert json.loads(values["AIRFLOW_CONN_REDSHIFT"])["host"] == ""
    assert values["AIRFLOW_VAR_SPARKIFY_S3_REGION"] == "eu-west-1"
    assert "create the cluster with the sparkify_infra DAG" in output and "COPY uses the access key" in output
    without_secrets(output)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[IAM_ROLE]\n", "[ROLE]\n"), "section [IAM_ROLE] is missing (it needs ARN)."),
        (("[AWS]\n", "[CREDENTIALS]\n"), "section [AWS] is missing."),
        ((f"KEY={KEY}\n", ""), "[AWS] KEY (or AWS_ACCESS_KEY_ID) is missing."),
        ((f"SECRET={SECRET}\n", "SECRET=\n"), "[AWS] SECRET (or AWS_SECRET_ACCESS_KEY) is missing."),
        (
            (f"SECRET={SECRET}\n", f"SECRET={SECRET}\nAWS_SECRET_ACCESS_KEY=other\n"),
            "[AWS] SECRET and AWS_SECRET_ACCESS_KEY differ; keep one of them.",
        ),
        ((f'DB_PASSWORD="{PASSWORD}"\n', ""), "[CLUSTER] DB_PASSWORD is missing."),
        ((f'DB_PASSWORD="{PASSWORD}"\n', "DB_PASSWORD=''\n"), "[CLUSTER] DB_PASSWORD is empty."),
        (("DB_NAME='dwh'\n", ""), "[CLUSTER] DB_NAME is missing."),
        (("DB_PORT='5439'", "DB_PORT=redshift"), "[CLUSTER] DB_PORT 'redshift' is not a port number (1-65535)."),
        (("DB_PORT='5439'", "DB_PORT=99999"), "[CLUSTER] DB_PORT '99999' is not a port number"),
        ((f"ARN='{ARN}'", "ARN=dwhRole"), "[IAM_ROLE] ARN 'dwhRole' is not a role ARN"),
        (
            ("LOG_DATA='s3://udacity-dend/log_data'", "LOG_DATA=udacity-dend/log_data"),
            "[S3] LOG_DATA 'udacity-dend/log_data' is not an s3://bucket/prefix URI.",
        ),
        (
            ("SONG_DATA='s3://udacity-dend/song_data'", "SONG_DATA=s3://my-bucket/song_data"),
            "[S3] SONG_DATA is in bucket 'my-bucket' but LOG_DATA in 'udacity-dend'",
        ),
        (
            ("LOG_JSONPATH='s3://udacity-dend/log_json_path.json'", "LOG_JSONPATH=s3://udacity-dend/paths/"),
            "[S3] LOG_JSONPATH 's3://udacity-dend/paths/' names a folder, not the JSONPaths file.",
        ),
        (("[AWS]\n", "[AWS]\nREGION=west\n"), "[AWS] REGION 'west' is not an AWS region"),
    ],
)
def test_incomplete_or_invalid_settings_are_named(tmp_path, capsys, change, message):
    code, output, out = run(tmp_path, UDACITY_CFG.replace(*change, 1), capsys)

    assert code == 2
    assert output.startswith(f"error: dwh.cfg: {message}") or f"dwh.cfg: {message}" in output
    assert not out.exists()
    without_secrets(output)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"DB_PASSWORD={PASSWORD}\n" + UDACITY_CFG,
            "dwh.cfg line 1: a setting before the first [SECTION] header (the line is not shown",
        ),
        (
            UDACITY_CFG.replace(f'DB_PASSWORD="{PASSWORD}"', f"DB_PASSWORD {PASSWORD}"),
            "dwh.cfg line 10: expected KEY=value or a [SECTION] header (the line is not shown",
        ),
        (UDACITY_CFG + f"\n[CLUSTER]\nDB_PASSWORD={PASSWORD}\n", "dwh.cfg line 25: section [CLUSTER] appears twice."),
        (
            UDACITY_CFG.replace("DB_PORT='5439'", f"DB_PORT='5439'\nDB_PASSWORD={PASSWORD}"),
            "dwh.cfg line 12: [CLUSTER] DB_PASSWORD appears twice.",
        ),
        (
            UDACITY_CFG.replace(f'DB_PASSWORD="{PASSWORD}"', f"DB_PASSWORD={PASSWORD}\n  {PASSWORD}"),
            "dwh.cfg: [CLUSTER] DB_PASSWORD continues on the next line; put it on one line.",
        ),
    ],
)
def test_malformed_files_name_the_line_but_never_show_it(tmp_path, capsys, text, message):
    code, output, out = run(tmp_path, text, capsys)

    assert code == 2
    assert message in output
    assert not out.exists()
    without_secrets(output)


def test_a_missing_file(tmp_path, capsys):
    assert main([str(tmp_path / "nope.cfg"), "--out", str(tmp_path / "x")]) == 2
    assert "nope.cfg: no such file." in capsys.readouterr().err


def test_lower_case_sections_and_keys_are_accepted(tmp_path):
    lowered = "\n".join(
        line.lower() if "=" not in line else line.split("=")[0].lower() + "=" + line.split("=", 1)[1]
        for line in UDACITY_CFG.splitlines()
    )
    cfg = read_dwh_cfg(write(tmp_path, lowered))
    assert (cfg.access_key, cfg.password, cfg.bucket) == (KEY, PASSWORD, "udacity-dend")


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_file_that_is_not_utf8_names_the_line_and_byte_but_not_the_content(tmp_path, capsys, bom):
    before, after = UDACITY_CFG.split(f'DB_PASSWORD="{PASSWORD}"')
    text = bom + before.encode() + b'DB_PASSWORD="Pass\xe9w0rd"' + after.encode()  # Latin-1, as Windows tools save it
    cfg = tmp_path / "dwh.cfg"
    cfg.write_bytes(text)
    out = tmp_path / ".env.dwh"

    assert main([str(cfg), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    offset = len(bom) + len(before.encode()) + len('DB_PASSWORD="Pass')
    assert error == (
        f"error: dwh.cfg line 10: not UTF-8 text (byte offset {offset}; the content is not shown). "
        f"Save the file as UTF-8.\n"
    )
    assert not out.exists()
