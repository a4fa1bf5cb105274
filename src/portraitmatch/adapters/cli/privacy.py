"""Privacy and audit commands: `purge`, `privacy-check`, `erase`, `audit verify|sign`, `report`,
`keys init|rotate`.

They take ``--data-dir`` / ``--database-url`` like every command that touches stored data. Exit codes:
0 done / clean / intact, 1 the check found something (plaintext found, chain broken, signature
invalid), 2 bad input or setup (no key, unreadable file, bad dates).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from portraitmatch.adapters.cli._output import (
    EXIT_NOT_PASSED,
    emit_json,
    input_errors,
    stderr,
    stdout,
)
from portraitmatch.adapters.cli.app import app
from portraitmatch.adapters.cli.service import DatabaseUrlOpt, DataDirOpt, build_settings
from portraitmatch.adapters.storage.database import Database
from portraitmatch.config import Settings
from portraitmatch.errors import ConfigurationError, InputError


def _group(name: str, help: str) -> typer.Typer:
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


audit_app = _group("audit", "The audit chain: verify it, sign its head.")
keys_app = _group("keys", "Keys: API keys for clerks, auditors and admins; master keys.")
report_app = typer.Typer(
    help="Inspection report for a period (signed): report --from … --to … --format html|pdf|csv --out FILE.",
    invoke_without_command=True,
)
app.add_typer(report_app, name="report")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NowOpt = Annotated[
    str | None,
    typer.Option("--now", hidden=True, help="Pretend the time is this ISO instant (tests, drills)."),
]


def _now(text: str | None) -> datetime:
    return _instant(text, "--now") if text else datetime.now(UTC)


def _instant(text: str, what: str) -> datetime:
    """An ISO date (midnight UTC) or an ISO date-time (UTC when no offset is given)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{what}: not an ISO date or date-time: {text!r}", code="USAGE") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    from portraitmatch.adapters.storage.migrations import upgrade_database

    database = Database(settings.resolved_database_url)
    try:
        upgrade_database(database)
        yield database
    finally:
        database.dispose()


def _protection(settings: Settings):  # type: ignore[no-untyped-def]
    from portraitmatch.adapters.keys.providers import load_key_provider
    from portraitmatch.adapters.storage.protection import Protection

    return Protection(load_key_provider(settings))


# ------------------------------------------------------------------------------------------ purge


@app.command()
def purge(
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
    as_json: JsonOpt = False,
    now: NowOpt = None,
) -> None:
    """Enforce retention: delete expired evidence, shred expired keys, forget holders past their legal period.

    Idempotent and safe from cron: a second run finds nothing to do.
    """
    from portraitmatch.adapters.storage.audit_store import SqlAuditSink
    from portraitmatch.adapters.storage.privacy_store import purge as run_purge
    from portraitmatch.audit.catalogue import EventType
    from portraitmatch.audit.event import AuditEvent

    with input_errors(as_json):
        settings = build_settings(data_dir, database_url)
        at = _now(now)
        protection = _protection(settings)
        with _database(settings) as database:
            sink = SqlAuditSink.for_service(settings, database)
            with database.transaction() as db:
                result = run_purge(db=db, protection=protection, retention=settings.retention, now=at)
                for receipt in result.receipts:
                    if receipt.ref.subject_ref.startswith("doc_"):
                        sink.record(
                            AuditEvent.create(
                                EventType.DATA_KEY_SHREDDED,
                                at=at,
                                actor="system:purge",
                                objects={
                                    "document": receipt.ref.subject_ref,
                                    "data_key": f"{receipt.ref.subject_ref}:{receipt.ref.purpose.value}",
                                },
                                details={
                                    "purpose": receipt.ref.purpose.value,
                                    "reason": receipt.reason.value,
                                    "generation": receipt.ref.generation,
                                },
                            ),
                            db=db,
                        )
                if not result.is_noop:
                    sink.record(
                        AuditEvent.create(
                            EventType.RETENTION_PURGED,
                            at=at,
                            actor="system:purge",
                            details={
                                "keys_shredded": len(result.receipts),
                                "evidence_deleted": result.evidence_deleted,
                                "sessions_cleared": result.templates_erased,
                            },
                        ),
                        db=db,
                    )
    summary = {
        "evidence_deleted": result.evidence_deleted,
        "templates_erased": result.templates_erased,
        "holders_forgotten": len(result.documents_forgotten),
        "keys_shredded": len(result.receipts),
    }
    if as_json:
        emit_json(summary)
        return
    if result.is_noop:
        stdout.print("nothing to purge")
    else:
        stdout.print(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in summary.items()))


# ------------------------------------------------------------------------------------------ privacy-check


@app.command("privacy-check")
def privacy_check(
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
    also: Annotated[
        list[Path] | None,
        typer.Option("--also", help="Another file or directory to scan (temp dir, log dir). Repeatable."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Scan the database and the data directory for biometric or personal data in clear.

    Looks for image and video signatures, unencrypted embeddings, and the names and ID numbers the
    installation holds sealed. Exit 0: clean; 1: something was found (listed without its content).
    """
    from portraitmatch.adapters.storage.privacy_store import (
        known_personal_values,
        scan_database,
        scan_directory,
    )

    with input_errors(as_json):
        settings = build_settings(data_dir, database_url)
        protection = _protection(settings)
        with _database(settings) as database:
            with database.reading() as db:
                needles = known_personal_values(db=db, protection=protection)
            findings = scan_database(database=database, needles=needles)
        for root in [settings.data_dir, *(also or [])]:
            findings += scan_directory(root, needles=needles)
    if as_json:
        emit_json(
            {
                "clean": not findings,
                "known_values_checked": len(needles),
                "findings": [{"location": f.location, "kind": f.kind, "what": f.what} for f in findings],
            }
        )
    elif not findings:
        stdout.print(f"clean: no biometric or personal data in clear ({len(needles)} sealed values checked)")
    else:
        table = Table("location", "kind", "what", title=f"{len(findings)} plaintext finding(s)")
        for f in findings:
            table.add_row(f.location, f.kind, f.what)
        stdout.print(table)
    if findings:
        raise typer.Exit(EXIT_NOT_PASSED)


# ------------------------------------------------------------------------------------------ erase


@app.command()
def erase(
    id_type: Annotated[str, typer.Option("--id-type", help="resident_id or passport.")],
    case: Annotated[str, typer.Option("--case", help="Reference of the erasure request (no personal data).")],
    issuing_state: Annotated[str, typer.Option("--issuing-state", help="Passports: issuing state.")] = "CHN",
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Execute a lawful erasure request: shred the holder's keys.

    The ID number is read from stdin, never from the command line (shell history and process lists
    keep those). Refused while the holder still has a live number.
    """
    from portraitmatch.adapters.storage.audit_store import SqlAuditSink
    from portraitmatch.adapters.storage.documents import document_lookup_key
    from portraitmatch.adapters.storage.privacy_store import erase_document
    from portraitmatch.adapters.storage.tables import DocumentRow
    from portraitmatch.audit.catalogue import EventType
    from portraitmatch.audit.event import AuditEvent
    from portraitmatch.registry.documents import DocumentType

    with input_errors(as_json):
        try:
            doc_type = DocumentType(id_type)
        except ValueError:
            raise InputError("--id-type must be resident_id or passport", code="USAGE") from None
        number = typer.prompt("ID number", hide_input=True).strip().upper().replace(" ", "")
        settings = build_settings(data_dir, database_url)
        protection = _protection(settings)
        at = datetime.now(UTC)
        with _database(settings) as database, database.transaction() as db:
            from sqlalchemy import select

            key = document_lookup_key(
                db=db,
                protection=protection,
                document_type=doc_type,
                number=number,
                issuing_state=issuing_state,
                now=at,
            )
            row = db.scalars(select(DocumentRow).where(DocumentRow.lookup_key == key)).first()
            if row is None:
                raise InputError(
                    "no record of this ID (never seen, or already erased)", code="UNKNOWN_DOCUMENT"
                )
            subject = row.subject_ref
            receipts = erase_document(db=db, protection=protection, document_id=row.id, now=at)
            SqlAuditSink.for_service(settings, database).record(
                AuditEvent.create(
                    EventType.SUBJECT_ERASED,
                    at=at,
                    actor="system:erase",
                    objects={"document": subject, "case": case},
                    details={"keys_shredded": len(receipts)},
                ),
                db=db,
            )
    if as_json:
        emit_json({"erased": True, "keys_shredded": len(receipts)})
    else:
        stdout.print(f"erased: {len(receipts)} key(s) shredded; the holder's data can no longer be read")


# ------------------------------------------------------------------------------------------ audit


def _trusted(settings: Settings, public_keys: list[Path] | None):  # type: ignore[no-untyped-def]
    from portraitmatch.adapters.keys.providers import load_signer, load_trusted_keys
    from portraitmatch.adapters.keys.signing_key import load_public_key
    from portraitmatch.audit.signing import TrustedKeys

    if public_keys:
        return TrustedKeys(load_public_key(p) for p in public_keys)
    return load_trusted_keys(settings, load_signer(settings))


PublicKeyOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--public-key", help="Trusted Ed25519 public key (PEM). Repeatable. Default: the configured ones."
    ),
]


@audit_app.command("verify")
def audit_verify(
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
    public_key: PublicKeyOpt = None,
    anchor_file: Annotated[
        Path | None, typer.Option("--anchor-file", help="Checkpoint copies kept outside the database.")
    ] = None,
    as_json: JsonOpt = False,
    now: NowOpt = None,
) -> None:
    """Check every entry and signed checkpoint; name each edited, deleted, inserted or reordered entry.

    Exit 0: intact; 1: broken (each finding says where).
    """
    from portraitmatch.adapters.storage.audit_store import SigningPolicy, anchor_path, verify_database

    with input_errors(as_json):
        settings = build_settings(data_dir, database_url)
        trusted = _trusted(settings, public_key)
        anchors = anchor_file or anchor_path(settings)
        with _database(settings) as database:
            status = verify_database(
                database=database,
                trusted=trusted,
                now=_now(now),
                policy=SigningPolicy.from_settings(settings),
                anchor_file=anchors if anchors.exists() else None,
            )
    if as_json:
        emit_json(
            {
                "intact": status.is_intact,
                "entries": status.entry_count,
                "signed_through": status.signed_through,
                "checkpoints": status.checkpoint_count,
                "head_hash": status.head_hash,
                "key_ids": list(status.key_ids),
                "findings": [
                    {"kind": f.kind.value, "seq": f.seq, "message": f.message} for f in status.findings
                ],
            }
        )
    else:
        colour = "green" if status.is_intact else "bold red"
        stdout.print(f"[{colour}]{status.summary()}[/]")
        if status.findings:
            table = Table("seq", "kind", "where and what")
            for f in status.findings:
                table.add_row("-" if f.seq is None else str(f.seq), f.kind.value, f.message)
            stdout.print(table)
    if not status.is_intact:
        raise typer.Exit(EXIT_NOT_PASSED)


def _require_signer(settings: Settings):  # type: ignore[no-untyped-def]
    from portraitmatch.adapters.keys.providers import load_signer

    signer = load_signer(settings)
    if signer is None:
        raise ConfigurationError(
            "no audit signing key: set keys.signing_key_file or $PORTRAITMATCH_SIGNING_KEY "
            "(development: portraitmatch keys init)"
        )
    return signer


@audit_app.command("sign")
def audit_sign(
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
    as_json: JsonOpt = False,
    now: NowOpt = None,
) -> None:
    """Sign the chain head now (every entry since the last checkpoint). Safe from cron."""
    from portraitmatch.adapters.storage.audit_store import ChainSigning, SigningPolicy, anchor_path

    with input_errors(as_json):
        settings = build_settings(data_dir, database_url)
        signer = _require_signer(settings)
        with _database(settings) as database:
            signing = ChainSigning(
                database, signer, SigningPolicy.from_settings(settings), anchor_path(settings)
            )
            cp = signing.sign(now=_now(now), force=True)
    if as_json:
        emit_json(
            None
            if cp is None
            else {"checkpoint": cp.index, "from_seq": cp.from_seq, "to_seq": cp.to_seq, "key_id": cp.key_id}
        )
    elif cp is None:
        stdout.print("nothing to sign: every entry is covered by a checkpoint")
    else:
        stdout.print(f"signed checkpoint {cp.index}: seq {cp.from_seq}–{cp.to_seq} with {cp.key_id}")


# ------------------------------------------------------------------------------------------ report


_FORMATS = ("html", "pdf", "csv")


@report_app.callback()
def report(
    ctx: typer.Context,
    start: Annotated[
        str | None, typer.Option("--from", help="Start (ISO date or date-time, UTC), inclusive.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End (ISO date or date-time, UTC), exclusive.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, pdf or csv.")] = "html",
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write; FILE.sig gets its signature.")
    ] = None,
    installation: Annotated[
        str, typer.Option("--installation", help="Name printed on the report.")
    ] = "PortraitMatch",
    report_id: Annotated[str | None, typer.Option("--report-id", hidden=True)] = None,
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
    public_key: PublicKeyOpt = None,
    now: NowOpt = None,
) -> None:
    """Write a signed inspection report for a period (no biometric or personal data in it)."""
    if ctx.invoked_subcommand is not None:
        return
    with input_errors(False):
        if not (start and end and out):
            raise InputError("report needs --from, --to and --out", code="USAGE")
        if fmt not in _FORMATS:
            raise InputError(f"--format must be one of {', '.join(_FORMATS)}", code="USAGE")
        period_from, period_to = _instant(start, "--from"), _instant(end, "--to")
        if period_to <= period_from:
            raise InputError("--to must be after --from", code="USAGE")
        settings = build_settings(data_dir, database_url)
        signer = _require_signer(settings)
        trusted = _trusted(settings, public_key)
        at = _now(now)
        with _database(settings) as database:
            content = write_report(
                settings=settings,
                database=database,
                signer=signer,
                trusted=trusted,
                period_from=period_from,
                period_to=period_to,
                outputs={fmt: out},
                installation=installation,
                report_id=report_id or uuid.uuid4().hex[:16],
                now=at,
            )
    stderr.print(f"wrote {out} ({len(content[fmt])} bytes) and {out}.sig, signed by {signer.key_id}")


def write_report(
    *,
    settings: Settings,
    database: Database,
    signer,  # type: ignore[no-untyped-def]
    trusted,  # type: ignore[no-untyped-def]
    period_from: datetime,
    period_to: datetime,
    outputs: dict[str, Path],
    installation: str,
    report_id: str,
    now: datetime,
) -> dict[str, bytes]:
    """Build one report, render it to each format in ``outputs`` (format -> path), and write every
    file with its detached ``.sig``; returns the files' bytes by format."""
    from portraitmatch.adapters.storage.inspection_store import produce_report

    signed = produce_report(
        settings=settings,
        database=database,
        signer=signer,
        trusted=trusted,
        period_from=period_from,
        period_to=period_to,
        formats=tuple(outputs),
        installation=installation,
        report_id=report_id,
        actor="system:report",
        now=now,
    )
    for fmt, out in outputs.items():
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(signed.files[fmt])
        Path(f"{out}.sig").write_bytes(signed.detached[fmt])
    return signed.files


@report_app.command("verify")
def report_verify(
    file: Annotated[Path, typer.Argument(help="A report written by `portraitmatch report`.")],
    public_key: PublicKeyOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a report's detached signature (FILE.sig) and, for HTML, its embedded one. Works offline."""
    from portraitmatch.audit.render_html import extract_embedded
    from portraitmatch.audit.report_signature import verify_file, verify_report_data

    with input_errors(as_json):
        settings = build_settings(data_dir, None)
        trusted = _trusted(settings, public_key)
        if not trusted:
            raise ConfigurationError("no trusted public key: pass --public-key KEY.pub.pem")
        content = file.read_bytes()
        signature = Path(f"{file}.sig").read_bytes()
        detached = verify_file(trusted, content, signature)
        embedded: bool | None = None
        if file.suffix.lower() in (".html", ".htm"):
            found = extract_embedded(content)
            embedded = found is not None and verify_report_data(trusted, *found)
    ok = detached is not None and embedded is not False
    if as_json:
        emit_json({"valid": ok, "key_id": detached, "embedded": embedded})
    elif ok:
        stdout.print(
            f"[green]valid[/]: signed by {detached}"
            + (" (embedded data signature valid)" if embedded else "")
        )
    else:
        stdout.print("[bold red]INVALID[/]: the file was altered or not signed by a trusted key")
    if not ok:
        raise typer.Exit(EXIT_NOT_PASSED)


# ------------------------------------------------------------------------------------------ keys


@keys_app.command("init")
def keys_init(data_dir: DataDirOpt = None, database_url: DatabaseUrlOpt = None) -> None:
    """Create the master key file and the audit signing key pair where settings say (if missing)."""
    from portraitmatch.adapters.keys.key_file import add_master_key
    from portraitmatch.adapters.keys.providers import master_key_file, signing_key_file
    from portraitmatch.adapters.keys.signing_key import public_key_path, write_signing_key

    with input_errors(False):
        settings = build_settings(data_dir, database_url)
        if settings.keys.provider == "file":
            path = master_key_file(settings)
            if path.exists():
                stdout.print(f"master key file exists: {path}")
            else:
                stdout.print(f"created master key {add_master_key(path)} in {path}")
        path = signing_key_file(settings)
        if path.exists():
            stdout.print(f"signing key exists: {path}")
        else:
            signer = write_signing_key(path)
            stdout.print(f"created audit signing key {signer.key_id} in {path}")
            stdout.print(f"give inspectors the public key {public_key_path(path)}")


@keys_app.command("rotate")
def keys_rotate(
    new_key: Annotated[
        bool, typer.Option("--new-key/--rewrap-only", help="Key file: add a new current master key first.")
    ] = True,
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rotate the master key: re-wrap every data key under the current one. Data is not touched.

    With a key file, ``--new-key`` first prepends a fresh key; with an environment variable or a KMS,
    configure the new key first, then run with ``--rewrap-only``. Old keys can go once this completes.
    """
    from portraitmatch.adapters.keys.key_file import add_master_key
    from portraitmatch.adapters.keys.providers import master_key_file
    from portraitmatch.adapters.storage.audit_store import SqlAuditSink
    from portraitmatch.audit.catalogue import EventType
    from portraitmatch.audit.event import AuditEvent

    with input_errors(as_json):
        settings = build_settings(data_dir, database_url)
        if new_key:
            if settings.keys.provider != "file":
                raise InputError("--new-key works with a key file; configure the new key, then --rewrap-only")
            add_master_key(master_key_file(settings))
        protection = _protection(settings)
        at = datetime.now(UTC)
        with _database(settings) as database, database.transaction() as db:
            result = protection.keys(db).rotate_master()
            SqlAuditSink.for_service(settings, database).record(
                AuditEvent.create(
                    EventType.MASTER_KEY_ROTATED,
                    at=at,
                    actor="system:keys",
                    objects={"master_key": result.master_key_id},
                    details={"rewrapped": result.rewrapped, "already_current": result.already_current},
                ),
                db=db,
            )
    if as_json:
        emit_json({"master_key_id": result.master_key_id, "rewrapped": result.rewrapped})
    else:
        stdout.print(
            f"current master key {result.master_key_id}: {result.rewrapped} data key(s) re-wrapped, "
            f"{result.already_current} already current"
        )
