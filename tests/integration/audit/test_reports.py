"""Inspection reports from a month of synthetic registrations in real storage (SQLite and PostgreSQL):
the numbers add up, the planted anomalies are found, the signatures verify offline, and nothing
personal gets into any rendering. The PDF is rasterised with pdftoppm to check it renders.

With ``PORTRAITMATCH_WRITE_SAMPLES=1`` the SQLite run also writes ``docs/samples/`` (the committed
sample report and the sample key's public half).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portraitmatch.adapters.storage.audit_store import (
    ChainSigning,
    SigningPolicy,
    SqlAuditSink,
    anchor_path,
    verify_database,
)
from portraitmatch.adapters.storage.inspection_store import inspection_facts, produce_report
from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.audit.inspection import build_report
from portraitmatch.audit.render_html import extract_embedded
from portraitmatch.audit.report_signature import verify_file, verify_report_data
from portraitmatch.audit.signing import Ed25519Signer, TrustedKeys, public_pem
from portraitmatch.config import Settings
from portraitmatch.privacy import LocalMasterKeys
from portraitmatch.privacy.plaintext_scan import find_images, find_text
from tests.conftest import REPO_ROOT
from tests.integration.audit.databases import KINDS, open_database
from tests.integration.audit.synthetic import OUTLETS, Populated, populate

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 4, 1, 6, 0, tzinfo=UTC)
# Sample-only key, derived from a public string so anyone can see it guards nothing real.
SAMPLE_SIGNER = Ed25519Signer.from_seed(hashlib.sha256(b"portraitmatch sample report key").digest())
TRUSTED = TrustedKeys([SAMPLE_SIGNER.public_key])


@pytest.fixture(params=KINDS)
def populated(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "data"
    with open_database(request.param, data_dir) as database:
        settings = Settings(data_dir=data_dir, database_url=database.url)
        protection = Protection(LocalMasterKeys([os.urandom(32)]))
        protection.prepare(database, now=START)
        signing = ChainSigning(
            database, SAMPLE_SIGNER, SigningPolicy(every_events=50, every_s=3600), anchor_path(settings)
        )
        summary = populate(
            database, protection, SqlAuditSink(signing=signing), start=START, per_outlet_channel=35
        )
        signing.sign(now=NOW, force=True)
        yield request.param, settings, database, summary


def test_report_counts_anomalies_and_chain(populated) -> None:  # type: ignore[no-untyped-def]
    _kind, settings, database, summary = populated
    status = verify_database(
        database=database,
        trusted=TRUSTED,
        now=NOW,
        policy=SigningPolicy(50, 3600),
        anchor_file=anchor_path(settings),
    )
    assert status.is_intact, status.findings
    with database.reading() as db:
        facts = inspection_facts(db=db, start=START, end=END, chain=status)
    report = build_report(facts, report_id="t", installation="Synthetic", generated_at=NOW)
    assert report.totals.sessions == summary.sessions
    assert report.totals.registrations == summary.registrations
    assert report.totals.exceptions == summary.exceptions
    assert report.unverified_registrations == ()
    flagged = {(a.kind, a.outlet) for a in report.anomalies}
    assert ("high_failure_rate", "out-harbour") in flagged
    assert ("high_exception_rate", "out-station") in flagged
    assert not {o for _, o in flagged} & {"out-riverside", "out-airport"}
    assert {r.outlet_name for r in report.rows} == {name for name, *_ in OUTLETS.values()}
    assert sum(k * n for k, n in report.numbers_per_id) == summary.registrations - summary.cancellations
    assert report.reverification.requested >= 1


def _needles(summary: Populated) -> list[tuple[str, str]]:
    return [("name", n) for n in summary.names] + [("id_number", n) for n in summary.numbers]


def test_rendered_reports_are_signed_and_hold_nothing_personal(populated, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kind, settings, database, summary = populated
    out = tmp_path / "out"
    files = {fmt: out / f"inspection-report-2026-03.{fmt}" for fmt in ("html", "pdf", "csv")}
    signed = produce_report(
        settings=settings,
        database=database,
        signer=SAMPLE_SIGNER,
        trusted=TRUSTED,
        period_from=START,
        period_to=END,
        formats=tuple(files),
        installation="North Mobile (synthetic sample)",
        report_id="sample-2026-03",
        actor="system:report",
        now=NOW,
    )
    out.mkdir(parents=True)
    for fmt, path in files.items():
        path.write_bytes(signed.files[fmt])
        Path(f"{path}.sig").write_bytes(signed.detached[fmt])
    written = signed.files
    for fmt, path in files.items():
        content = path.read_bytes()
        assert content == written[fmt]
        assert verify_file(TRUSTED, content, Path(f"{path}.sig").read_bytes()) == SAMPLE_SIGNER.key_id
        assert find_text(content, _needles(summary)) == []
        if fmt != "pdf":
            assert find_images(content) == []
    data, signature = extract_embedded(files["html"].read_bytes())  # type: ignore[misc]
    assert verify_report_data(TRUSTED, data, signature)
    assert signature.data_sha256 in files["csv"].read_text()  # same report data, same signature

    if shutil.which("openssl"):  # an inspector's check, with nothing of ours installed
        pem = tmp_path / "sample.pub.pem"
        pem.write_bytes(public_pem(SAMPLE_SIGNER.public_key))
        for path in files.values():
            done = subprocess.run(
                [
                    "openssl",
                    "pkeyutl",
                    "-verify",
                    "-pubin",
                    "-inkey",
                    str(pem),
                    "-rawin",
                    "-in",
                    str(path),
                    "-sigfile",
                    f"{path}.sig",
                ],
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0 and "Signature Verified Successfully" in done.stdout, (
                done.stdout + done.stderr
            )

    if shutil.which("pdftoppm") and shutil.which("pdftotext"):
        subprocess.run(
            ["pdftoppm", "-r", "50", "-png", str(files["pdf"]), str(tmp_path / "page")], check=True
        )
        pages = sorted(tmp_path.glob("page-*.png"))
        assert len(pages) >= 3
        text = subprocess.run(["pdftotext", str(files["pdf"]), "-"], capture_output=True, text=True).stdout
        assert "Inspection report" in text and "Harbour Street" in text
        assert find_text(text.encode(), _needles(summary)) == []
    if kind == "sqlite" and os.environ.get("PORTRAITMATCH_WRITE_SAMPLES"):
        samples = REPO_ROOT / "docs" / "samples"
        samples.mkdir(parents=True, exist_ok=True)
        for path in files.values():
            shutil.copyfile(path, samples / path.name)
            shutil.copyfile(f"{path}.sig", samples / f"{path.name}.sig")
        (samples / "sample-signing.pub.pem").write_bytes(public_pem(SAMPLE_SIGNER.public_key))


def test_report_flags_a_registration_without_passed_session(populated) -> None:  # type: ignore[no-untyped-def]
    _kind, _settings, database, _summary = populated
    from sqlalchemy import text

    with database.transaction() as db:  # someone bypasses the service and registers on a failed session
        failed = db.execute(text("SELECT id FROM sessions WHERE outcome = 'fail' LIMIT 1")).scalar_one()
        sub = db.execute(text("SELECT id FROM subscriptions ORDER BY id LIMIT 1")).scalar_one()
        db.execute(text("UPDATE subscriptions SET session_id = :s WHERE id = :i"), {"s": failed, "i": sub})
    status = verify_database(
        database=database, trusted=TRUSTED, now=NOW, policy=SigningPolicy(50, 3600), anchor_file=None
    )
    with database.reading() as db:
        facts = inspection_facts(db=db, start=START, end=END + timedelta(days=1), chain=status)
    report = build_report(facts, report_id="t", installation="Synthetic", generated_at=NOW)
    assert report.unverified_registrations == (sub,)
    assert report.anomalies[0].severity.value == "critical"
