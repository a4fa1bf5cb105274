"""The command line: serve on the embedded default, keys create, db upgrade."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from portraitmatch.bench.load import running_server

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "from portraitmatch.adapters.cli.app import main; main()"]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120
    )


def test_serve_on_the_embedded_default_with_no_setup(tmp_path: Path) -> None:
    data = tmp_path / "pm-data"
    with running_server(data_dir=data) as base:
        assert httpx.get(f"{base}/healthz").json()["database"] == "sqlite"
        assert httpx.get(f"{base}/docs").status_code == 200
        assert "/v1/sessions" in httpx.get(f"{base}/openapi.json").json()["paths"]
        assert (data / "portraitmatch.sqlite3").is_file()
        assert (data / "keys" / "master.keys").is_file()
        created = _cli("keys", "create", "--role", "admin", "--data-dir", str(data))
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip()
        assert key.startswith("pm_")
        r = httpx.get(f"{base}/v1/keys", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200 and len(r.json()) == 1


def test_keys_create_and_db_upgrade_use_the_environment_too(tmp_path: Path) -> None:
    env = {"PORTRAITMATCH_DATA_DIR": str(tmp_path / "env-data")}
    upgraded = _cli("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "revision" in upgraded.stdout
    assert (tmp_path / "env-data" / "portraitmatch.sqlite3").is_file()
    bad = _cli("keys", "create", "--role", "clerk", env=env)
    assert bad.returncode == 2 and "OUTLET_REQUIRED" in bad.stderr + bad.stdout
    bad = _cli("keys", "create", "--role", "root", env=env)
    assert bad.returncode == 2
    url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    made = _cli("keys", "create", "--role", "auditor", "--database-url", url, "--json")
    assert made.returncode == 0 and '"role": "auditor"' in made.stdout
    assert (tmp_path / "other.sqlite3").is_file()
