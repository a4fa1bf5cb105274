"""Load benchmark on loopback: full sessions per second, and registry operations with a large registry.

Two parts, each bounded in count and in time:

* **Sessions.** A real ``portraitmatch serve`` process on a fresh SQLite file (or the database URL
  given) and N concurrent clients (default 1, 4, 16). One *full session* is what a counter does:
  create the session with the ID portrait, upload the recorded capture, read the decision, and on a
  pass register a number. Reported per level: sessions per second, p50/p95/p99 latency of a full
  session, HTTP errors, and outcomes. The challenge is pinned to what the clip performs (the
  test-only ``service.pinned_challenge``), so the work measured is that of a passing session.
* **Registry.** A fresh database filled with M subscribers (default one million: a document, its
  data key, a session, a number and a subscription each, written in bulk with the same layout the
  service writes), then the service's own registry transactions run in-process against it:
  register, numbers-under-my-ID look-up, number status, transfer, cancel. Reported: operations per
  second and latency percentiles. Runs on SQLite and, when reachable, on PostgreSQL.

Nothing here listens beyond 127.0.0.1. These are measurements, not tests: nothing fails on a number.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

PINNED_ENV = "PORTRAITMATCH_SERVICE__PINNED_CHALLENGE"
DEFAULT_PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# -- statistics ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Stats:
    count: int
    errors: int
    wall_s: float
    per_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None

    @classmethod
    def of(cls, latencies_ms: Sequence[float], errors: int, wall_s: float) -> Stats:
        return cls(
            count=len(latencies_ms),
            errors=errors,
            wall_s=round(wall_s, 3),
            per_s=round(len(latencies_ms) / wall_s, 3) if wall_s > 0 else 0.0,
            p50_ms=_round(percentile(latencies_ms, 50)),
            p95_ms=_round(percentile(latencies_ms, 95)),
            p99_ms=_round(percentile(latencies_ms, 99)),
            mean_ms=_round(statistics.fmean(latencies_ms)) if latencies_ms else None,
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# -- a server process ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(
    *,
    data_dir: Path,
    database_url: str | None = None,
    env: dict[str, str] | None = None,
    workers: int | None = None,
    startup_timeout_s: float = 180.0,
) -> Iterator[str]:
    """Start ``portraitmatch serve`` on 127.0.0.1 and a free port; yield its base URL; stop it."""
    port = free_port()
    command = [
        sys.executable,
        "-c",
        # Not `-m …cli.app`: that would load the app module twice and lose the registered commands.
        "from portraitmatch.adapters.cli.app import main; main()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--log-level",
        "warning",
    ]
    if database_url:
        command += ["--database-url", database_url]
    if workers:
        command += ["--workers", str(workers)]
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / f"server-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"server did not start in {startup_timeout_s} s:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_unreachable_reason(server_url: str) -> str | None:
    """Why a PostgreSQL server cannot be used, or None when it answers."""
    import psycopg
    from sqlalchemy.engine import make_url

    try:
        with psycopg.connect(_libpq(server_url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means: do without it, and say why
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL at {make_url(server_url).render_as_string()} is unreachable ({first_line})"
    return None


@contextlib.contextmanager
def fresh_postgres_database(server_url: str, prefix: str = "pm_bench") -> Iterator[str]:
    """Create an empty database on a PostgreSQL server; yield its SQLAlchemy URL; drop it afterwards."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(_libpq(server_url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield (
            make_url(server_url)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(_libpq(server_url), autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# -- part 1: full sessions over HTTP -------------------------------------------------------------


@dataclass
class SessionLevel:
    clients: int
    sessions: Stats
    outcomes: dict[str, int]
    registered: int
    error_kinds: dict[str, int] = field(default_factory=dict)


# Real county-level division codes in Beijing, Shanghai, Guangzhou, Shenzhen and Chengdu.
_REGIONS = (
    "110101",
    "110105",
    "110108",
    "310101",
    "310104",
    "310115",
    "440103",
    "440106",
    "440304",
    "510104",
)


def random_resident_id(rng: random.Random) -> str:
    """A valid resident ID number (one of about 2e8): region, birth date 1950-2004, sequence, check."""
    from portraitmatch.registry.resident_id import check_character

    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(20_000))
    first17 = f"{rng.choice(_REGIONS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + check_character(first17)


def portrait_from_video(path: Path, frame_index: int) -> bytes:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
        ok, bgr = cap.read()
    finally:
        cap.release()
    if not ok:
        raise ValueError(f"cannot read frame {frame_index} of {path}")
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return jpeg.tobytes()


def _bootstrap(base: str, admin_key: str, numbers: int) -> tuple[str, list[str]]:
    """An operator, an outlet, a clerk key and an inventory; returns (clerk key, numbers)."""
    auth = {"Authorization": f"Bearer {admin_key}"}
    suffix = secrets.token_hex(3)
    with httpx.Client(base_url=base, headers=auth, timeout=60) as client:
        client.post(
            "/v1/operators", json={"id": f"bench-{suffix}", "name": "Bench operator"}
        ).raise_for_status()
        client.post(
            "/v1/outlets",
            json={"id": f"shop-{suffix}", "operator_id": f"bench-{suffix}", "name": "Bench shop"},
        ).raise_for_status()
        clerk = client.post("/v1/keys", json={"role": "clerk", "outlet_id": f"shop-{suffix}"})
        clerk.raise_for_status()
        start = 16_000_000_000 + random.randrange(10**8)
        inventory = [str(start + i) for i in range(numbers)]
        for i in range(0, len(inventory), 10_000):
            client.post(
                f"/v1/operators/bench-{suffix}/numbers", json={"numbers": inventory[i : i + 10_000]}
            ).raise_for_status()
    return clerk.json()["key"], inventory


def _full_session(
    client: httpx.Client, *, portrait: bytes, video: bytes, doc: str, msisdn: str, device: str
) -> tuple[str, bool]:
    """One counter session; returns (outcome, registered). Raises on any HTTP error."""
    from portraitmatch.adapters.web.routes.console import NOTICE_VERSION

    created = client.post(
        "/v1/sessions",
        data={
            "document_type": "resident_id",
            "document_number": doc,
            "holder_name": "张三",
            "document_expires_on": "2035-01-01",
            "device_id": device,
            "capture": "video",  # a recorded upload: the session must be issued for one
        },
        files={"portrait": ("portrait.jpg", portrait, "image/jpeg")},
    )
    created.raise_for_status()
    session = created.json()
    # The clerk attests the customer's consent, as the console does; no capture without it.
    client.post(
        f"/v1/sessions/{session['id']}/consent",
        json={"notice_version": NOTICE_VERSION, "language": "zh"},
    ).raise_for_status()
    decided = client.post(
        f"/v1/sessions/{session['id']}/video",
        params={"nonce": session["challenge"]["nonce"]},
        content=video,
        headers={"Content-Type": "video/mp4"},
    )
    decided.raise_for_status()
    outcome = decided.json()["outcome"]
    if outcome != "pass":
        return outcome, False
    registered = client.post(
        f"/v1/numbers/{msisdn}/registration",
        json={"session_id": session["id"], "document_type": "resident_id", "document_number": doc},
    )
    registered.raise_for_status()
    return outcome, True


def run_session_level(
    base: str,
    *,
    clerk_key: str,
    portrait: bytes,
    video: bytes,
    numbers: list[str],
    clients: int,
    sessions: int,
    max_seconds: float,
    rng: random.Random,
) -> SessionLevel:
    """``sessions`` full sessions by ``clients`` concurrent clients, stopping early at ``max_seconds``."""
    lock = threading.Lock()
    todo = iter(range(sessions))
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    error_kinds: Counter[str] = Counter()
    registered = 0
    started = time.perf_counter()
    deadline = started + max_seconds

    def client_loop(index: int) -> None:
        nonlocal registered
        headers = {"Authorization": f"Bearer {clerk_key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=max(60.0, max_seconds)) as client:
            while time.perf_counter() < deadline:
                with lock:
                    n = next(todo, None)
                    if n is None:
                        return
                    doc = random_resident_id(rng)
                    msisdn = numbers.pop()
                t0 = time.perf_counter()
                try:
                    outcome, did_register = _full_session(
                        client,
                        portrait=portrait,
                        video=video,
                        doc=doc,
                        msisdn=msisdn,
                        device=f"client-{index}",
                    )
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    kind = (
                        f"HTTP {exc.response.status_code}"
                        if isinstance(exc, httpx.HTTPStatusError)
                        else type(exc).__name__
                    )
                    with lock:
                        error_kinds[kind] += 1
                    continue
                elapsed_ms = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(elapsed_ms)
                    outcomes[outcome] += 1
                    registered += did_register

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return SessionLevel(
        clients=clients,
        sessions=Stats.of(latencies, sum(error_kinds.values()), wall),
        outcomes=dict(outcomes),
        registered=registered,
        error_kinds=dict(error_kinds),
    )


def bench_sessions(
    *,
    video_path: Path,
    portrait_frame: int,
    challenge: Sequence[str],
    client_levels: Sequence[int],
    sessions_per_level: int,
    max_seconds_per_level: float,
    database_url: str | None,
    workers: int | None,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    from portraitmatch.adapters.storage.api_keys import create_api_key
    from portraitmatch.adapters.storage.database import Database
    from portraitmatch.adapters.storage.migrations import upgrade_database
    from portraitmatch.registry.access import Role

    rng = random.Random(20261122)
    video = video_path.read_bytes()
    portrait = portrait_from_video(video_path, portrait_frame)
    with tempfile.TemporaryDirectory(prefix="pm-bench-load-") as tmp:
        data_dir = Path(tmp) / "data"
        url = database_url or f"sqlite:///{data_dir / 'portraitmatch.sqlite3'}"
        data_dir.mkdir(parents=True)
        database = Database(url)
        try:
            upgrade_database(database)
            with database.transaction() as db:
                admin = create_api_key(
                    db=db, role=Role.ADMIN, outlet_id=None, label="bench", now=datetime.now(UTC)
                )
        finally:
            database.dispose()
        env = {
            PINNED_ENV: json.dumps(list(challenge)),
            "PORTRAITMATCH_ENVIRONMENT": "development",
            "PORTRAITMATCH_KEYS__PROVIDER": "env",
            "PORTRAITMATCH_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        }
        progress("starting the server (loading models)…")
        with running_server(data_dir=data_dir, database_url=url, env=env, workers=workers) as base:
            clerk_key, numbers = _bootstrap(base, admin.secret, sum(client_levels) * sessions_per_level + 100)
            levels = []
            for clients in client_levels:
                progress(f"{sessions_per_level} full sessions with {clients} concurrent client(s)…")
                level = run_session_level(
                    base,
                    clerk_key=clerk_key,
                    portrait=portrait,
                    video=video,
                    numbers=numbers,
                    clients=clients,
                    sessions=sessions_per_level,
                    max_seconds=max_seconds_per_level,
                    rng=rng,
                )
                progress(
                    f"  {level.sessions.count} sessions, {level.sessions.per_s}/s, "
                    f"p50 {level.sessions.p50_ms} ms, errors {level.sessions.errors}, "
                    f"outcomes {level.outcomes}"
                )
                levels.append(asdict(level))
    return {
        "video": video_path.name,
        "video_bytes": len(video),
        "challenge": list(challenge),
        "database": url.split(":", 1)[0],
        "workers": workers,
        "levels": levels,
    }


# -- part 2: registry operations with a large registry ------------------------------------------


@dataclass
class _Bulk:
    operator_id: str
    outlet_id: str
    documents: list[str]  # resident ID numbers of the loaded subscribers
    numbers: list[str]  # their numbers, same order
    spare_numbers: list[str]  # available inventory for registrations


_BULK_COLUMNS: dict[str, tuple[str, ...]] = {
    "data_keys": ("subject_ref", "purpose", "generation", "master_key_id", "blob", "created_at"),
    "documents": (
        "id",
        "lookup_key",
        "doc_type",
        "subject_ref",
        "number_sealed",
        "name_sealed",
        "created_at",
        "updated_at",
    ),
    "sessions": (
        "id",
        "outlet_id",
        "operator_id",
        "api_key_id",
        "channel",
        "purpose",
        "document_id",
        "device_key",
        "state",
        "actions",
        "nonce",
        "capture_token_sha256",
        "issued_at",
        "expires_at",
        "outcome",
        "reasons",
        "message",
        "decided_at",
        "usable_until",
        "used_at",
        "used_for",
    ),
    "numbers": ("id", "operator_id", "msisdn", "state", "added_at"),
    "subscriptions": (
        "id",
        "number_id",
        "document_id",
        "operator_id",
        "outlet_id",
        "session_id",
        "status",
        "started_at",
    ),
}


def _bulk_insert(database: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
    """Insert rows fast, below SQLAlchemy's per-value processing: COPY on PostgreSQL, executemany on SQLite.

    Values are already in the stored form (times: aware UTC for PostgreSQL, the naive UTC text that
    ``UtcDateTime`` writes for SQLite).
    """
    columns = _BULK_COLUMNS[table]
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if database.is_postgresql:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.execute("BEGIN IMMEDIATE")
            marks = ", ".join("?" * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        raw.commit()
    finally:
        raw.close()


def load_registry(
    database: Any, protection: Any, *, subscribers: int, spare: int, progress: Callable[[str], None]
) -> _Bulk:
    """Write ``subscribers`` holders with one live number each, plus ``spare`` available numbers.

    Rows are what the service writes (sealed number and name under a per-holder data key wrapped by
    the master key, keyed-hash look-up, the session that backed the registration), inserted in bulk.
    """
    from sqlalchemy import insert, text

    from portraitmatch.adapters.storage import tables as t
    from portraitmatch.adapters.storage.numbers import add_numbers
    from portraitmatch.privacy import DataKey, KeyRef, Purpose, seal, wrap
    from portraitmatch.privacy.id_numbers import index_id_number
    from portraitmatch.registry.resident_id import check_character

    now = datetime.now(UTC)
    # The stored form of a time: SQLite keeps naive UTC text (as UtcDateTime writes it).
    at: Any = (
        now
        if database.is_postgresql
        else now.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    )
    suffix = secrets.token_hex(3)
    operator_id, outlet_id = f"bulk-{suffix}", f"bulk-shop-{suffix}"
    with database.transaction() as db:
        db.execute(insert(t.OperatorRow).values(id=operator_id, name="Bulk operator", created_at=now))
        db.execute(
            insert(t.OutletRow).values(
                id=outlet_id, operator_id=operator_id, name="Bulk shop", created_at=now
            )
        )
        index_key = protection.index_key(db, now=now)
        first_doc = (db.scalar(text("SELECT COALESCE(MAX(id), 0) FROM documents")) or 0) + 1
        first_number = (db.scalar(text("SELECT COALESCE(MAX(id), 0) FROM numbers")) or 0) + 1
        first_sub = (db.scalar(text("SELECT COALESCE(MAX(id), 0) FROM subscriptions")) or 0) + 1
    base_msisdn = 17_000_000_000 + random.randrange(10**8)
    documents: list[str] = []
    numbers: list[str] = []
    chunk = 20_000
    started = time.perf_counter()
    reasons = '["CHALLENGE_PASSED", "MATCH"]'
    for lo in range(0, subscribers, chunk):
        hi = min(subscribers, lo + chunk)
        rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in _BULK_COLUMNS}
        for i in range(lo, hi):
            birth = date(1940, 1, 1) + timedelta(days=i // 1000)
            first17 = f"110105{birth:%Y%m%d}{i % 1000:03d}"
            number = first17 + check_character(first17)
            msisdn = str(base_msisdn + i)
            documents.append(number)
            numbers.append(msisdn)
            subject = f"doc_{suffix}_{i}"
            key = DataKey.generate(KeyRef(subject, Purpose.PERSONAL, 1))
            wrapped = wrap(protection.provider, key, created_at=now)
            session_id = uuid.uuid4().hex
            doc_id, number_id, sub_id = first_doc + i, first_number + i, first_sub + i
            rows["data_keys"].append(
                (subject, Purpose.PERSONAL.value, 1, wrapped.master_key_id, wrapped.blob, at)
            )
            rows["documents"].append(
                (
                    doc_id,
                    index_id_number(index_key, document_type="resident_id", number=number),
                    "resident_id",
                    subject,
                    seal(key, number.encode(), label="id_number", now=now).token,
                    seal(key, "张三".encode(), label="holder_name", now=now).token,
                    at,
                    at,
                )
            )
            rows["sessions"].append(
                (
                    session_id,
                    outlet_id,
                    operator_id,
                    "bulk",
                    "counter",
                    "registration",
                    doc_id,
                    "bulk",
                    "used",
                    "blink,turn_left",
                    session_id[:22],
                    "0" * 64,
                    at,
                    at,
                    "pass",
                    reasons,
                    "bulk load",
                    at,
                    at,
                    at,
                    "registration",
                )
            )
            rows["numbers"].append((number_id, operator_id, msisdn, "assigned", at))
            rows["subscriptions"].append(
                (sub_id, number_id, doc_id, operator_id, outlet_id, session_id, "active", at)
            )
        for table, table_rows in rows.items():
            _bulk_insert(database, table, table_rows)
        if hi % 100_000 == 0 or hi == subscribers:
            rate = hi / (time.perf_counter() - started)
            progress(f"  loaded {hi:,} subscribers ({rate:,.0f}/s)")
    spare_numbers = [str(base_msisdn + subscribers + i) for i in range(spare)]
    with database.transaction() as db:
        if database.is_postgresql:  # ids were given explicitly: move the sequences past them
            for table in ("documents", "numbers", "subscriptions"):
                db.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT MAX(id) FROM {table}))"
                    )
                )
    with database.transaction() as db:
        add_numbers(db=db, operator_id=operator_id, msisdns=spare_numbers, now=now)
    if database.is_postgresql:
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return _Bulk(operator_id, outlet_id, documents, numbers, spare_numbers)


def store_decided_session(
    database: Any,
    protection: Any,
    *,
    operator_id: str,
    outlet_id: str,
    document: Any,
    now: datetime,
    outcome: Any = None,
    purpose: Any = None,
    use_window_s: float = 900.0,
) -> tuple[Any, int]:
    """Store a session for ``document`` decided with ``outcome`` (default pass), as the service does
    after a verification; returns (VerificationSession, document row id).

    For registry measurements and registry tests, which exercise the registry apart from the engine.
    """
    from portraitmatch.adapters.storage import sessions as session_store
    from portraitmatch.adapters.storage.documents import save_document
    from portraitmatch.registry.sessions import Channel, Purpose, Verdict
    from portraitmatch.types import Action, Outcome

    outcome = outcome or Outcome.PASS
    purpose = purpose or Purpose.REGISTRATION
    passed = outcome is Outcome.PASS
    with database.transaction() as db:
        stored = save_document(db=db, protection=protection, document=document, now=now)
        session = session_store.insert_session(
            db=db,
            protection=protection,
            new=session_store.NewSession(
                id=uuid.uuid4().hex,
                outlet_id=outlet_id,
                operator_id=operator_id,
                api_key_id="seed",
                channel=Channel.COUNTER,
                purpose=purpose,
                document_id=stored.id,
                device_key="seed-device",
                actions=(Action.BLINK, Action.TURN_LEFT),
                nonce=secrets.token_urlsafe(16),
                capture_token_sha256="0" * 64,
                issued_at=now,
                expires_at=now + timedelta(seconds=120),
            ),
            template=b"seeded template",
            now=now,
        )
        if session_store.claim_capture(db=db, session_id=session.id, kind="video", now=now) is None:
            raise RuntimeError("a fresh session could not be claimed")
        verdict = Verdict(
            outcome=outcome,
            reasons=("CHALLENGE_PASSED", "MATCH") if passed else ("NO_MATCH",),
            message="stored for a registry measurement",
            decided_at=now,
            usable_until=now + timedelta(seconds=use_window_s) if passed else None,
            liveness_passed=True,
            match_score=0.9 if passed else 0.1,
            match_threshold=0.5,
        )
        session_store.record_decision(
            db=db, protection=protection, session_id=session.id, verdict=verdict, now=now
        )
        found = session_store.get_session(db=db, session_id=session.id)
    return found, stored.id


def resident_document(number: str, name: str = "李四") -> Any:
    """An unexpired resident ID card with this (valid) number."""
    from portraitmatch.registry.documents import DocumentType, IdDocument

    birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return IdDocument(DocumentType.RESIDENT_ID, number, name, birth, date(2040, 1, 1))


def _timed_ops(op: Callable[[int], None], *, count: int, threads: int, max_seconds: float) -> Stats:
    """Run ``op(i)`` for i in 0..count-1 on ``threads`` threads until done or out of time."""
    lock = threading.Lock()
    todo = iter(range(count))
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = started + max_seconds

    def loop() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            t0 = time.perf_counter()
            try:
                op(i)
            except Exception:
                with lock:
                    errors += 1
                continue
            with lock:
                latencies.append((time.perf_counter() - t0) * 1000)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return Stats.of(latencies, errors, time.perf_counter() - started)


def run_registry_ops(
    database: Any,
    protection: Any,
    bulk: _Bulk,
    *,
    ops: int,
    threads: Sequence[int],
    max_seconds: float,
    progress: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """The service's registry transactions against the loaded registry; returns stats per op and threads."""
    from portraitmatch.adapters.storage import numbers as number_store
    from portraitmatch.adapters.storage.documents import document_lookup_key, find_document
    from portraitmatch.registry.documents import DocumentType
    from portraitmatch.registry.sessions import Purpose, ensure_usable

    rng = random.Random(11)
    now = datetime.now(UTC)
    results: dict[str, dict[str, Any]] = {}
    total = ops * len(threads)
    picks = rng.sample(range(len(bulk.documents)), min(len(bulk.documents), 3 * total))
    lookups, transfers, cancels = picks[:total], picks[total : 2 * total], picks[2 * total :]
    progress(f"  storing {2 * total} passed sessions for registrations and transfers (not timed)…")
    fresh_docs = [random_resident_id(rng) for _ in range(2 * total)]
    sessions = [
        store_decided_session(
            database,
            protection,
            operator_id=bulk.operator_id,
            outlet_id=bulk.outlet_id,
            document=resident_document(doc),
            now=now,
            use_window_s=24 * 3600,
        )
        for doc in fresh_docs
    ]
    spare = list(bulk.spare_numbers)

    def lookup(i: int) -> None:
        number = bulk.documents[lookups[i % len(lookups)]]
        with database.reading() as db:
            key = document_lookup_key(
                db=db,
                protection=protection,
                document_type=DocumentType.RESIDENT_ID,
                number=number,
                issuing_state="CHN",
                now=now,
            )
            found = find_document(db=db, lookup_key=key)
            assert found is not None
            subs = number_store.list_subscriptions(db=db, limit=100, document_id=found.id, live_only=True)
            assert subs

    def status(i: int) -> None:
        msisdn = bulk.numbers[lookups[i % len(lookups)]]
        with database.reading() as db:
            assert number_store.get_number(db=db, msisdn=msisdn) is not None
            number_store.live_subscription(db=db, msisdn=msisdn)

    def register(i: int) -> None:
        session, document_id = sessions[i]
        ensure_usable(
            session,
            purpose=Purpose.REGISTRATION,
            document_key=session.document_key,
            outlet_id=bulk.outlet_id,
            now=now,
        )
        with database.transaction() as db:
            number_store.register_number(
                db=db,
                session=session,
                document_id=document_id,
                msisdn=spare[i],
                operator_id=bulk.operator_id,
                limit=5,
                now=now,
            )

    def transfer(i: int) -> None:
        session, document_id = sessions[total + i]
        with database.transaction() as db:
            number_store.transfer_number(
                db=db,
                session=session,
                document_id=document_id,
                msisdn=bulk.numbers[transfers[i]],
                operator_id=bulk.operator_id,
                limit=5,
                now=now,
            )

    def cancel(i: int) -> None:
        with database.transaction() as db:
            number_store.cancel_number(
                db=db, msisdn=bulk.numbers[cancels[i]], operator_id=bulk.operator_id, cooling_days=90, now=now
            )

    offsets = {"lookup": 0, "status": 0, "register": 0, "transfer": 0, "cancel": 0}
    for name, fn in (
        ("lookup", lookup),
        ("status", status),
        ("register", register),
        ("transfer", transfer),
        ("cancel", cancel),
    ):
        for n_threads in threads:
            base = offsets[name]
            stats = _timed_ops(
                lambda i, fn=fn, base=base: fn(base + i),
                count=ops,
                threads=n_threads,
                max_seconds=max_seconds,
            )
            offsets[name] += ops
            results[f"{name}@{n_threads}"] = asdict(stats)
            progress(
                f"  {name:8s} threads={n_threads}: {stats.per_s:8.1f} ops/s  p50 {stats.p50_ms} ms  "
                f"p99 {stats.p99_ms} ms  errors {stats.errors}"
            )
    return results


def bench_registry(
    *,
    database_url: str,
    subscribers: int,
    ops: int,
    threads: Sequence[int],
    max_seconds: float,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    from portraitmatch.adapters.storage.database import Database
    from portraitmatch.adapters.storage.migrations import upgrade_database
    from portraitmatch.adapters.storage.protection import Protection
    from portraitmatch.privacy import LocalMasterKeys

    database = Database(database_url)
    try:
        upgrade_database(database)
        protection = Protection(LocalMasterKeys([os.urandom(32)]))
        protection.prepare(database, now=datetime.now(UTC))
        progress(f"loading {subscribers:,} subscribers into {database.dialect}…")
        t0 = time.perf_counter()
        bulk = load_registry(
            database, protection, subscribers=subscribers, spare=ops * len(threads) + 10, progress=progress
        )
        load_s = time.perf_counter() - t0
        results = run_registry_ops(
            database, protection, bulk, ops=ops, threads=threads, max_seconds=max_seconds, progress=progress
        )
    finally:
        database.dispose()
    return {
        "database": database.dialect,
        "subscribers": subscribers,
        "load_s": round(load_s, 1),
        "operations": results,
    }


def write_report(result: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "load.json", out / "load.md"
    json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    lines = [f"# Load benchmark ({result['started_at']}, {result['machine']})", ""]
    sessions = result.get("sessions")
    if sessions:
        lines += [
            f"## Full sessions over HTTP ({sessions['video']}, challenge {','.join(sessions['challenge'])}, "
            f"{sessions['database']}, workers {sessions['workers'] or 'default'})",
            "",
            "| clients | sessions | sessions/s | p50 ms | p95 ms | p99 ms | errors | outcomes |",
            "|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for level in sessions["levels"]:
            st = level["sessions"]
            lines.append(
                f"| {level['clients']} | {st['count']} | {st['per_s']} | {st['p50_ms']} | {st['p95_ms']} "
                f"| {st['p99_ms']} | {st['errors']} | {level['outcomes']} |"
            )
        lines.append("")
    for reg in result.get("registry", []):
        lines += [
            f"## Registry operations, {reg['database']}, {reg['subscribers']:,} subscribers "
            f"(bulk load {reg['load_s']} s)",
            "",
            "| operation@threads | ops | ops/s | p50 ms | p95 ms | p99 ms | errors |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, st in reg["operations"].items():
            lines.append(
                f"| {name} | {st['count']} | {st['per_s']} | {st['p50_ms']} | {st['p95_ms']} "
                f"| {st['p99_ms']} | {st['errors']} |"
            )
        lines.append("")
    md_path.write_text("\n".join(lines))
    return json_path, md_path


def machine_description() -> str:
    return f"{os.cpu_count()} CPU, Python {sys.version.split()[0]}"
