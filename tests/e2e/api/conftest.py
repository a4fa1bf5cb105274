"""API tests: an app per test on a temporary SQLite file or the session's fresh PostgreSQL database.

The verification engine is real (loaded once per session) and captures are real dev clips:
``liveportrait/driving/d12.mp4`` (a bona fide capture: a turn to the image right, a blink, a turn
to the image left) with a portrait frame read from the same clip, and ``tranvanluyt/videos/fake.mp4``
(a phone replay). The challenge is pinned to what d12 performs (``service.pinned_challenge``, a
test-only setting that production refuses).
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from portraitmatch.adapters.storage.api_keys import create_api_key
from portraitmatch.adapters.web import create_app
from portraitmatch.adapters.web.context import ServiceContext
from portraitmatch.adapters.web.routes.console import NOTICE_VERSION
from portraitmatch.bench.load import portrait_from_video
from portraitmatch.config import LivenessSettings, RegistrySettings, ServiceSettings, Settings
from portraitmatch.privacy import LocalMasterKeys
from portraitmatch.registry.access import Role
from tests.integration.storage import seed
from tests.pg import pg_url  # noqa: F401  (fixture)

# What d12.mp4 performs, in the customer's terms for an unmirrored camera: a turn to the image
# right is the customer's left. Its first blink comes on the way back from the first turn, before a
# streamed blink prompt could be visible (the streaming checker does not count it), so the blink
# asked for is the one after the second turn.
PINNED_CHALLENGE = ("turn_left", "turn_right", "blink")
MASTER_KEY = os.urandom(32)


def master_key_b64() -> str:
    return base64.b64encode(MASTER_KEY).decode()


class Clock:
    """The service's clock, moved by tests that need time to pass (expiry, cooling, deadlines)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kw: float) -> None:
        self.offset += timedelta(**kw)


@dataclass(frozen=True)
class Clips:
    bona_fide: bytes  # d12.mp4
    portrait: bytes  # a JPEG of one frontal frame of d12
    replay: bytes  # tranvanluyt fake.mp4
    replay_portrait: bytes  # a JPEG of a frontal frame of tranvanluyt real.mp4
    bona_fide_path: Path


@pytest.fixture(scope="session")
def clips(dev_data: Path) -> Clips:
    d12 = dev_data / "liveness" / "liveportrait" / "driving" / "d12.mp4"
    fake = dev_data / "liveness" / "tranvanluyt" / "videos" / "fake.mp4"
    real = dev_data / "liveness" / "tranvanluyt" / "videos" / "real.mp4"
    for path in (d12, fake, real):
        if not path.is_file():
            pytest.skip(f"dev clip {path} is missing")
    return Clips(
        bona_fide=d12.read_bytes(),
        portrait=portrait_from_video(d12, 0),
        replay=fake.read_bytes(),
        replay_portrait=portrait_from_video(real, 0),
        bona_fide_path=d12,
    )


@pytest.fixture(scope="session")
def engine():  # type: ignore[no-untyped-def]
    from portraitmatch.api import Engine

    # The streamed clips are recordings: they cannot wait for prompts withheld for a random delay.
    # Zero delay is a test-only setting (Settings refuses it in production; docs/pad.md).
    return Engine.load(Settings(liveness=LivenessSettings(prompt_delay_min_s=0, prompt_delay_max_s=0)))


@pytest.fixture(scope="session")
def master_keys() -> LocalMasterKeys:
    return LocalMasterKeys([MASTER_KEY])


@dataclass
class Api:
    client: TestClient
    app: FastAPI
    clock: Clock
    admin_key: str
    operator_id: str = ""
    outlet_id: str = ""
    clerk_key: str = ""
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def ctx(self) -> ServiceContext:
        return self.app.state.context

    @staticmethod
    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def post(self, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        return self.client.post(path, headers=self.auth(key or self.clerk_key) | kw.pop("headers", {}), **kw)

    def get(self, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        return self.client.get(path, headers=self.auth(key or self.clerk_key) | kw.pop("headers", {}), **kw)

    def new_outlet(self, operator_id: str | None = None) -> tuple[str, str, str]:
        """A fresh operator (unless given) and outlet with a clerk key: (operator_id, outlet_id, key)."""
        suffix = secrets.token_hex(4)
        if operator_id is None:
            operator_id = f"op-{suffix}"
            r = self.post("/v1/operators", self.admin_key, json={"id": operator_id, "name": "China Test"})
            assert r.status_code == 201, r.text
        outlet_id = f"shop-{suffix}"
        r = self.post(
            "/v1/outlets", self.admin_key, json={"id": outlet_id, "operator_id": operator_id, "name": "Shop"}
        )
        assert r.status_code == 201, r.text
        r = self.post(
            "/v1/keys", self.admin_key, json={"role": "clerk", "outlet_id": outlet_id, "label": "clerk"}
        )
        assert r.status_code == 201, r.text
        return operator_id, outlet_id, r.json()["key"]

    def add_numbers(self, n: int, operator_id: str | None = None) -> list[str]:
        base = 13_900_000_000 + secrets.randbelow(90_000_000)
        numbers = [str(base + i) for i in range(n)]
        r = self.post(
            f"/v1/operators/{operator_id or self.operator_id}/numbers",
            self.admin_key,
            json={"numbers": numbers},
        )
        assert r.status_code == 200, r.text
        return numbers

    def create_session(
        self,
        portrait: bytes,
        *,
        number: str | None = None,
        key: str | None = None,
        capture: str | None = "video",
        **fields: str,
    ) -> httpx.Response:
        """A session for a recorded upload unless told otherwise: ``capture="stream"`` for the
        WebSocket, ``capture=None`` to leave the field out (the service's default, stream)."""
        data = {
            "document_type": "resident_id",
            "document_number": number or seed.unique_resident_id(),
            "holder_name": "张三",
            "document_expires_on": "2035-01-01",
        } | fields
        if capture is not None:
            data["capture"] = capture
        return self.post(
            "/v1/sessions", key, data=data, files={"portrait": ("portrait.jpg", portrait, "image/jpeg")}
        )

    def consent(self, session: dict[str, Any]) -> httpx.Response:
        """The customer's consent to the capture, as the capture page records it (its capture token)."""
        return self.client.post(
            f"/v1/sessions/{session['id']}/consent",
            headers=self.auth(session["capture_token"]),
            json={"notice_version": NOTICE_VERSION, "language": "en"},
        )

    def upload(
        self,
        session: dict[str, Any],
        video: bytes,
        *,
        key: str | None = None,
        consent: bool = True,
        **params: Any,
    ) -> httpx.Response:
        """Upload a capture; first the customer's consent, which the service requires, unless told not to."""
        if consent:
            self.consent(session)  # refusals (expired, other outlet …) show again in the upload's answer
        return self.post(
            f"/v1/sessions/{session['id']}/video",
            key,
            params={"nonce": session["challenge"]["nonce"], **params},
            content=video,
            headers={"Content-Type": "video/mp4"},
        )

    def passed_session(
        self, *, number: str, purpose: str = "registration", outlet: tuple[str, str] | None = None
    ):  # type: ignore[no-untyped-def]
        """A passed session stored as the service stores one after a real verification (registry tests)."""
        operator_id, outlet_id = outlet or (self.operator_id, self.outlet_id)
        from portraitmatch.registry.sessions import Purpose

        session, _ = seed.decided_session(
            self.ctx.database,
            self.ctx.protection,
            operator_id=operator_id,
            outlet_id=outlet_id,
            doc=seed.document(number),
            now=self.clock(),
            purpose=Purpose(purpose),
        )
        return session


AppFactory = Callable[..., Api]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'api.sqlite3'}"
    return request.getfixturevalue("pg_url")


def _with_liveness(engine, liveness: LivenessSettings | None):  # type: ignore[no-untyped-def]
    """The engine, or one sharing its loaded models with other liveness settings (prompt delays)."""
    if liveness is None:
        return engine
    return type(engine)(
        settings=engine.settings.model_copy(update={"liveness": liveness}),
        landmarker=engine.landmarker,
        detector=engine.detector,
        matcher=engine.matcher,
        identity_embedder=engine.identity_embedder,
    )


@pytest.fixture
def make_api(engine, master_keys: LocalMasterKeys, database_url: str, tmp_path: Path) -> Iterator[AppFactory]:  # type: ignore[no-untyped-def]
    started: list[TestClient] = []

    def build(
        registry: dict[str, Any] | None = None,
        service: dict[str, Any] | None = None,
        liveness: LivenessSettings | None = None,
        **settings: Any,
    ) -> Api:
        """``liveness``: the engine's liveness settings instead of the session engine's (same models)."""
        cfg = Settings(
            environment="development",
            data_dir=tmp_path / "data",
            database_url=database_url,
            registry=RegistrySettings(**(registry or {})),
            service=ServiceSettings(**({"pinned_challenge": PINNED_CHALLENGE} | (service or {}))),
            **settings,
        )
        clock = Clock()
        app = create_app(cfg, _with_liveness(engine, liveness), key_provider=master_keys, clock=clock)
        client = TestClient(app)
        client.__enter__()
        started.append(client)
        with app.state.context.database.transaction() as db:
            admin = create_api_key(db=db, role=Role.ADMIN, outlet_id=None, label="test admin", now=clock())
        api = Api(client=client, app=app, clock=clock, admin_key=admin.secret)
        api.operator_id, api.outlet_id, api.clerk_key = api.new_outlet()
        return api

    yield build
    for client in started:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: AppFactory) -> Api:
    return make_api()
