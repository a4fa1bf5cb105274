"""The audit and privacy commands end to end on a data directory (SQLite), as an operator runs them:
exit codes, idempotence, messages that say where the chain breaks, reports that verify offline."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from portraitmatch.adapters.cli.app import _register, app
from portraitmatch.adapters.keys.providers import load_key_provider
from portraitmatch.adapters.storage.audit_store import SqlAuditSink
from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.migrations import upgrade_database
from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.config import Settings
from tests.integration.audit.synthetic import populate

START = datetime(2026, 3, 1, tzinfo=UTC)

_register()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with keys (``keys init``) and a small month of registrations."""
    root = tmp_path_factory.mktemp("cli") / "data"
    result = CliRunner().invoke(app, ["keys", "init", "--data-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert (root / "keys" / "master.keys").stat().st_mode & 0o777 == 0o600
    settings = Settings(data_dir=root)
    database = Database(settings.resolved_database_url)
    upgrade_database(database)
    protection = Protection(load_key_provider(settings))
    protection.prepare(database, now=START)
    populate(
        database, protection, SqlAuditSink.for_service(settings, database), start=START, per_outlet_channel=12
    )
    database.dispose()
    return root


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_sign_then_verify_intact(data_dir: Path) -> None:
    code, out = run("audit", "sign", "--data-dir", str(data_dir), "--now", "2026-04-01T00:00:00")
    assert code == 0, out
    code, out = run("audit", "sign", "--data-dir", str(data_dir), "--now", "2026-04-01T00:00:00")
    assert code == 0 and "nothing to sign" in out
    code, out = run("audit", "verify", "--data-dir", str(data_dir), "--json", "--now", "2026-04-01T00:00:00")
    assert code == 0, out
    status = json.loads(out)
    assert status["intact"] and status["entries"] == status["signed_through"] > 100


def test_privacy_check_and_purge_are_clean_and_idempotent(data_dir: Path) -> None:
    code, out = run("privacy-check", "--data-dir", str(data_dir), "--json")
    assert code == 0, out
    assert json.loads(out)["clean"] and json.loads(out)["known_values_checked"] > 50
    code, out = run("purge", "--data-dir", str(data_dir), "--json", "--now", "2026-04-01T00:00:00")
    assert code == 0, out
    code, out = run("purge", "--data-dir", str(data_dir), "--json", "--now", "2026-04-01T00:00:00")
    assert code == 0 and json.loads(out) == {
        "evidence_deleted": 0,
        "templates_erased": 0,
        "holders_forgotten": 0,
        "keys_shredded": 0,
    }


def test_report_written_and_verified_offline(data_dir: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "march.pdf"
    code, out = run(
        "report",
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-01",
        "--format",
        "pdf",
        "--out",
        str(out_file),
        "--data-dir",
        str(data_dir),
        "--now",
        "2026-04-01T06:00:00",
    )
    assert code == 0, out
    assert out_file.read_bytes().startswith(b"%PDF") and len(Path(f"{out_file}.sig").read_bytes()) == 64
    pub = data_dir / "keys" / "audit-signing.pub.pem"
    code, out = run("report", "verify", str(out_file), "--public-key", str(pub))
    assert code == 0 and "valid" in out
    tampered = bytearray(out_file.read_bytes())
    tampered[len(tampered) // 2] ^= 0x01
    out_file.write_bytes(bytes(tampered))
    code, out = run("report", "verify", str(out_file), "--public-key", str(pub))
    assert code == 1 and "INVALID" in out


def test_bad_report_arguments_exit_2(data_dir: Path, tmp_path: Path) -> None:
    base = ["report", "--data-dir", str(data_dir), "--out", str(tmp_path / "r.html")]
    assert run(*base, "--from", "2026-04-01", "--to", "2026-03-01")[0] == 2
    assert run(*base, "--from", "yesterday", "--to", "2026-03-01")[0] == 2
    assert run(*base, "--from", "2026-03-01", "--to", "2026-04-01", "--format", "docx")[0] == 2


def test_report_needs_a_signing_key(tmp_path: Path) -> None:
    code, out = run(
        "report",
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-01",
        "--out",
        str(tmp_path / "r.csv"),
        "--data-dir",
        str(tmp_path / "empty"),
    )
    assert code == 2 and "signing key" in out


def test_master_key_rotation_keeps_everything_readable(data_dir: Path) -> None:
    code, out = run("keys", "rotate", "--data-dir", str(data_dir), "--json")
    assert code == 0, out
    assert json.loads(out)["rewrapped"] > 10
    assert len((data_dir / "keys" / "master.keys").read_text().split()) == 2
    # The holders' names are still readable with the new key (privacy-check unseals all of them).
    code, out = run("privacy-check", "--data-dir", str(data_dir), "--json")
    assert code == 0 and json.loads(out)["known_values_checked"] > 50


def test_tampering_is_reported_with_exit_1(data_dir: Path) -> None:
    # Last: it breaks the chain of the shared data directory.
    db = data_dir / "portraitmatch.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_events SET outlet = 'out-riverside' WHERE seq = 42")
        conn.execute("DELETE FROM audit_events WHERE seq = 77")
    code, out = run("audit", "verify", "--data-dir", str(data_dir), "--json", "--now", "2026-04-01T00:00:00")
    assert code == 1
    findings = {(f["kind"], f["seq"]) for f in json.loads(out)["findings"]}
    assert findings == {("edited", 42), ("deleted", 77)}
    code, out = run("audit", "verify", "--data-dir", str(data_dir), "--now", "2026-04-01T00:00:00")
    assert code == 1 and "BROKEN" in out and "seq 42" in out


def test_privacy_check_exit_1_on_plaintext(data_dir: Path, tmp_path: Path) -> None:
    leak = tmp_path / "leak"
    leak.mkdir()
    (leak / "frame.npy").write_bytes(b"\x93NUMPY\x01\x00" + os.urandom(100))
    code, out = run("privacy-check", "--data-dir", str(data_dir), "--also", str(leak), "--json")
    assert code == 1
    assert json.loads(out)["findings"][0]["what"] == "npy"
