"""What Airflow imports from plugins/ in every task process: the plugin module, not the whole package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"

# What a task process does (airflow.sdk's listener manager loads the plugins), in a fresh interpreter.
PROBE = """
import json, sys
from airflow.sdk import plugins_manager
plugins, errors = plugins_manager._get_plugins()
print(json.dumps({
    "plugins": sorted(p.name for p in plugins),
    "sources": sorted(str(p.source) for p in plugins if p.source is not None),
    "errors": errors,
    "bare_modules": sorted(m for m in ("ledger", "listing", "config", "window", "__init__") if m in sys.modules),
    "api_server_modules": sorted(
        m for m in ("sparkify.pages.app", "airflow.api_fastapi.core_api.security") if m in sys.modules
    ),
}))
"""


def test_only_the_plugin_module_is_imported_from_the_plugins_folder():
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded["errors"] == {}
    assert "sparkify" in loaded["plugins"]
    assert [s for s in loaded["sources"] if "sparkify" in s] == ["$PLUGINS_FOLDER/sparkify/airflow_plugin.py"]
    # Without plugins/.airflowignore each of the package's 50-odd files was executed again under its
    # bare file name (sys.modules["ledger"], ...): 0.3 s of CPU in every task, measured with py-spy.
    assert loaded["bare_modules"] == []
    # The plugin's page route is imported on its first request, in the API server only (sparkify.pages.mount).
    assert loaded["api_server_modules"] == []
