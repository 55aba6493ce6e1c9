"""The one place that builds the engine, the unit of work and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from .adapters.db.engine import make_engine
from .adapters.db.migrate import upgrade
from .adapters.db.uow import SqlUnitOfWork
from .config import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    engine: Engine
    uow: SqlUnitOfWork
    clock: Callable[[], datetime]

    def close(self) -> None:
        self.engine.dispose()


def build(
    settings: Settings | None = None,
    clock: Callable[[], datetime] = utc_now,
    migrate: bool = True,
) -> App:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return App(settings, engine, SqlUnitOfWork(engine, shop_timezone=settings.shop_timezone), clock)
