"""The one place that builds the engine, the unit of work and the clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from .adapters.db.engine import make_engine
from .adapters.db.migrate import upgrade
from .adapters.db.payment_store import attach_payments
from .adapters.db.uow import SqlUnitOfWork
from .adapters.db.waitlist_store import attach_care_policy
from .adapters.payments import build_gateways
from .config import Settings
from .domain.payments import Policy
from .service.care import policy_from
from .service.payment_views import PaymentSettings
from .service.ports import UnitOfWork


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    engine: Engine
    uow: SqlUnitOfWork
    clock: Callable[[], datetime]
    # Payments (issue 4): the gateways by name (empty: payments off) and the shop's terms.
    gateways: dict = field(default_factory=dict)
    payment_settings: PaymentSettings = field(default_factory=PaymentSettings)

    def close(self) -> None:
        self.engine.dispose()


def build(
    settings: Settings | None = None,
    clock: Callable[[], datetime] = utc_now,
    migrate: bool = True,
) -> App:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    attach_care_policy(engine, policy_from(settings))  # issue 8: holds, auto-cancel, links
    if migrate:
        upgrade(engine)
    gateways = build_gateways(settings, clock)
    attach_payments(engine, bool(gateways))  # issue 4: no gateway, no payment reads at all
    uow = SqlUnitOfWork(engine, shop_timezone=settings.shop_timezone)
    return App(settings, engine, uow, clock, gateways, payment_settings(settings))


def payment_settings(settings: Settings) -> PaymentSettings:
    """The shop's payment terms (issue 4) from the BACKORDER_PAYMENT_* settings."""
    return PaymentSettings(
        default_gateway=settings.payment_gateway,
        policy=Policy(settings.payment_policy),
        deposit_percent=settings.payment_deposit_percent,
        renew_margin=timedelta(hours=settings.payment_renew_hours),
        grace=timedelta(hours=settings.payment_grace_hours),
        retry_after=timedelta(seconds=settings.payment_retry_seconds),
        max_attempts=settings.payment_max_attempts,
    )


def notifiers(settings: Settings):
    """The message renderer and the channel senders (SMTP, webhooks, log) the settings ask for."""
    from .adapters.notify import build_renderer, build_senders

    return build_renderer(settings), build_senders(settings)


@contextmanager
def rolled_back(app: App) -> Iterator[UnitOfWork]:
    """A unit of work whose every commit is undone when the block ends (`import --dry-run`)."""
    from .adapters.db.dry_run import DryRunUnitOfWork

    uow = DryRunUnitOfWork(app.engine, shop_timezone=app.settings.shop_timezone)
    try:
        yield uow
    finally:
        uow.discard()
