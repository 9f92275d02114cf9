"""Which Pythons the project runs on: tools/pick-python's choice, tools/make-venv, the locks, the docs.

The tools run against fake interpreters (shell scripts that print a version) on a PATH that holds
nothing else, so the machine's own Pythons do not count.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PICK = ROOT / "tools" / "pick-python"
MAKE_VENV = ROOT / "tools" / "make-venv"
SUPPORTED = ["3.13", "3.12", "3.11", "3.10"]
ACCEPTED = "3.10, 3.11, 3.12 or 3.13"
COMMANDS = ["ls", "sort", "dirname", "basename", "sed", "rm", "mkdir", "cp", "chmod"]
# A fake interpreter: prints its version; `-m venv DIR` makes DIR/bin/python (itself) and a pip
# that logs its arguments to DIR/pip.log.
FAKE = """#!/bin/sh
if [ "$1" = -m ] && [ "$2" = venv ]; then
    mkdir -p "$3/bin" && cp "$0" "$3/bin/python"
    printf '#!/bin/sh\\necho "$*" >> "%s/pip.log"\\n' "$3" > "$3/bin/pip" && chmod +x "$3/bin/pip"
    exit 0
fi
echo {version}
"""
BROKEN = '#!/bin/sh\necho "pyenv: $(basename $0): command not found" >&2\nexit 127\n'


@pytest.fixture
def machine(tmp_path):
    """A PATH with the basic commands and none of this machine's Pythons; add fakes with .add()."""
    commands = tmp_path / "commands"
    commands.mkdir()
    for name in COMMANDS:
        (commands / name).symlink_to(shutil.which(name))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()

    class Machine:
        path = f"{bin_dir}:{commands}"
        pyenv = tmp_path / "pyenv"

        def add(self, name: str, version: str | None, where: Path = bin_dir) -> Path:
            where.mkdir(parents=True, exist_ok=True)
            fake = where / name
            fake.write_text(FAKE.format(version=version) if version else BROKEN)
            fake.chmod(0o755)
            return fake

        def run(self, tool: Path, *args: str, python: str | None = None, cwd: Path = tmp_path):
            env = {"PATH": self.path, "PYENV_ROOT": str(self.pyenv), "HOME": str(tmp_path)}
            if python is not None:
                env["PYTHON"] = python
            return subprocess.run(["/bin/sh", str(tool), *args], env=env, cwd=cwd, capture_output=True, text=True)

    return Machine()


# --- tools/pick-python -------------------------------------------------------------------------


def test_picks_the_newest_supported_python_on_path(machine):
    machine.add("python3.10", "3.10")
    newest = machine.add("python3.12", "3.12")
    machine.add("python3.11", "3.11")
    done = machine.run(PICK)
    assert (done.returncode, done.stdout.strip()) == (0, str(newest))


def test_skips_names_that_do_not_run_or_are_another_version(machine):
    machine.add("python3.13", None)  # a pyenv shim for a version pyenv does not activate
    machine.add("python3.12", "3.9")  # a misleading name
    wanted = machine.add("python3.11", "3.11")
    assert machine.run(PICK).stdout.strip() == str(wanted)


def test_a_plain_python3_counts_when_its_version_is_supported(machine):
    python3 = machine.add("python3", "3.12")
    assert machine.run(PICK).stdout.strip() == str(python3)


def test_python_set_by_the_user_wins_over_newer_ones(machine):
    machine.add("python3.13", "3.13")
    chosen = machine.add("python3.10", "3.10")
    assert machine.run(PICK, python="python3.10").stdout.strip() == str(chosen)


@pytest.mark.parametrize(
    ("version", "problem"), [("3.9", "is Python 3.9"), ("3.14", "is Python 3.14"), (None, "does not run")]
)
def test_python_set_to_an_unsupported_or_broken_interpreter_is_refused(machine, version, problem):
    fake = machine.add("python-x", version)
    done = machine.run(PICK, python=str(fake))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == f"PYTHON={fake} {problem}. This project needs Python {ACCEPTED}."


def test_without_a_supported_python_it_refuses_naming_the_accepted_versions(machine):
    machine.add("python3.9", "3.9")
    machine.add("python3", "3.9")
    done = machine.run(PICK)
    assert done.returncode == 1 and done.stdout == ""
    assert f"needs Python {ACCEPTED}" in done.stderr
    assert "PYTHON=/path/to/python3.12 make install" in done.stderr


def test_each_lists_every_supported_version_from_path_then_pyenv(machine):
    on_path = machine.add("python3.12", "3.12")
    machine.add("python3.13", None)  # a shim: pyenv's own install is used instead
    pyenv_313 = machine.add("python3.13", "3.13", machine.pyenv / "versions/3.13.0/bin")
    machine.add("python3.10", "3.10", machine.pyenv / "versions/3.10.4/bin")
    pyenv_310 = machine.add("python3.10", "3.10", machine.pyenv / "versions/3.10.13/bin")
    assert machine.run(PICK, "--each").stdout.splitlines() == [
        f"3.13 {pyenv_313}",
        f"3.12 {on_path}",
        "3.11 missing",
        f"3.10 {pyenv_310}",
    ]


def test_supported_versions_and_locks(machine):
    assert machine.run(PICK, "--supported").stdout.split() == SUPPORTED
    locks = {version: machine.run(PICK, "--lock", version).stdout.strip() for version in SUPPORTED}
    assert locks == {
        "3.13": "requirements.txt",
        "3.12": "requirements.txt",
        "3.11": "requirements.txt",
        "3.10": "requirements-py3.10.txt",
    }


# --- tools/make-venv ---------------------------------------------------------------------------


def test_make_venv_creates_the_venv_with_the_lock_for_its_python(machine, tmp_path):
    machine.add("python3.10", "3.10")
    done = machine.run(MAKE_VENV, str(tmp_path / "venv"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "venv/pip.log").read_text().endswith(f"-r {ROOT}/requirements-py3.10.txt\n")
    assert "lock requirements-py3.10.txt" in (tmp_path / "venv/.installed").read_text()
    again = machine.run(MAKE_VENV, str(tmp_path / "venv"))
    assert (again.returncode, again.stdout) == (0, "")
    assert len((tmp_path / "venv/pip.log").read_text().splitlines()) == 1


def test_make_venv_keeps_a_venv_of_another_supported_version_unless_python_names_one(machine, tmp_path):
    machine.add("python3.11", "3.11")
    assert machine.run(MAKE_VENV, str(tmp_path / "venv")).returncode == 0
    newer = machine.add("python3.13", "3.13")
    kept = machine.run(MAKE_VENV, str(tmp_path / "venv"))
    assert (kept.returncode, kept.stdout) == (0, "")  # a newer Python on PATH does not rebuild it
    rebuilt = machine.run(MAKE_VENV, str(tmp_path / "venv"), python="python3.13")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"has Python 3.11, not 3.13 ({newer}): rebuilding it" in rebuilt.stdout
    assert (tmp_path / "venv/.installed").read_text().startswith(f"python 3.13 {newer}\n")


def test_make_venv_keeps_a_venv_made_before_per_version_locks(machine, tmp_path):
    machine.add("python3.11", "3.11")
    assert machine.run(MAKE_VENV, str(tmp_path / "venv")).returncode == 0
    (tmp_path / "venv/.installed").write_text("")  # what the old Makefile's `touch` left
    kept = machine.run(MAKE_VENV, str(tmp_path / "venv"))
    assert (kept.returncode, kept.stdout) == (0, "")


def test_make_venv_without_a_python_fails_before_touching_anything(machine, tmp_path):
    done = machine.run(MAKE_VENV, str(tmp_path / "venv"))
    assert done.returncode == 1 and f"needs Python {ACCEPTED}" in done.stderr
    assert not (tmp_path / "venv").exists()


# --- the locks agree ---------------------------------------------------------------------------


def pins(path: Path) -> dict[str, str]:
    return {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in (line.split("==") for line in path.read_text().splitlines() if "==" in line)
    }


def test_the_python_310_lock_is_generated_from_the_current_requirements_txt():
    header = (ROOT / "requirements-py3.10.txt").read_text()
    digest = hashlib.sha256((ROOT / "requirements.txt").read_bytes()).hexdigest()
    assert f"# generated-from: requirements.txt sha256={digest}" in header, (
        "requirements.txt changed: regenerate requirements-py3.10.txt with tools/lock_for_python.py"
    )


def test_the_python_310_lock_agrees_with_requirements_txt():
    main, py310 = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements-py3.10.txt")
    left_out = re.search(r"^# left-out \(.*\): (.*)$", (ROOT / "requirements-py3.10.txt").read_text(), re.M)
    assert sorted(set(main) - set(py310)) == sorted(left_out.group(1).split())
    for package in ("apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk"):
        assert py310[package] == main[package]
    newer = {
        name: (py310[name], main[name])
        for name in main.keys() & py310.keys()
        if Version(py310[name]) > Version(main[name])
    }
    assert newer == {}, "the 3.10 lock only steps pins down, never up"


# --- the docs say the same ----------------------------------------------------------------------


def test_pyproject_and_readme_name_the_supported_versions():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.10,<3.14"' in pyproject
    assert 'target-version = "py310"' in pyproject
    readme = (ROOT / "README.md").read_text()
    assert f"Python {ACCEPTED}" in readme
    assert "PYTHON=python3.13 make demo" in readme
