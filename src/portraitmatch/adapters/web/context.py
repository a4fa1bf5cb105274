"""Everything a request handler needs, built once per process by ``create_app``.

Nothing here holds session state: that lives in the database, so any number of processes can
serve the same sessions. The worker pool bounds how many CPU-heavy verifications run at once;
requests beyond that wait in its queue while the event loop keeps answering everything else.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.adapters.web.events import AuditSink, Detail, ServiceEvent
from portraitmatch.audit.catalogue import EventType
from portraitmatch.config import Settings

if TYPE_CHECKING:
    from portraitmatch.api import Engine

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServiceContext:
    settings: Settings
    database: Database
    protection: Protection
    engine: Engine
    pool: ThreadPoolExecutor
    audit: AuditSink
    clock: Callable[[], datetime] = utc_now
    rng: random.Random = random.SystemRandom()  # noqa: RUF009 - one shared CSPRNG-backed instance

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """The calendar date where documents are checked (expiry is a local date)."""
        return self.now().astimezone(ZoneInfo(self.settings.service.timezone)).date()

    async def compute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run CPU-heavy work (decoding, models) on the worker pool, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, partial(fn, *args, **kwargs))

    def emit(
        self,
        db: Session,
        type: EventType,
        *,
        actor: str,
        outlet_id: str | None = None,
        objects: Mapping[str, str] | None = None,
        **details: Detail,
    ) -> None:
        """Hand one audit event to the sink, inside the caller's transaction."""
        self.audit.record(
            ServiceEvent(
                type, actor=actor, at=self.now(), outlet_id=outlet_id, objects=objects or {}, details=details
            ),
            db=db,
        )
