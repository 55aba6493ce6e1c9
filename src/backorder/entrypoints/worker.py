"""The outbox dispatcher: plan deliveries from new events, send the due ones, again and again.

Runs as `backorder worker` (several processes may share a PostgreSQL database: claims use
SKIP LOCKED) and as a background thread of `backorder serve` (BACKORDER_DISPATCH_IN_SERVE).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from ..bootstrap import App, notifiers
from ..config import Settings
from ..service.notifications import (
    DispatchPolicy,
    RoundResult,
    claim_due,
    has_work,
    plan_deliveries,
    send_claimed,
)
from ..service.ports import ChannelSender, MessageRenderer

log = logging.getLogger("backorder.worker")
PLAN_BATCHES_PER_ROUND = 10  # then send, so a flood of new events cannot starve the sends


def policy_from(settings: Settings, senders: Mapping[str, ChannelSender]) -> DispatchPolicy:
    return DispatchPolicy(
        max_attempts=settings.dispatch_max_attempts,
        backoff_seconds=settings.dispatch_backoff_seconds,
        backoff_max_seconds=settings.dispatch_backoff_max_seconds,
        lease_seconds=settings.dispatch_lease_seconds,
        batch=settings.dispatch_batch,
        email="email" in senders,
        log=settings.notify_log and "log" in senders,
        show_queue_position=settings.show_queue_position,
        shop_name=settings.shop_name,
        customer_max_age=timedelta(hours=settings.notify_max_age_hours),
    )


class Dispatcher:
    """One dispatcher: its own id, senders and renderer over the App's database."""

    def __init__(
        self,
        app: App,
        senders: Mapping[str, ChannelSender] | None = None,
        renderer: MessageRenderer | None = None,
        worker_id: str | None = None,
    ) -> None:
        if senders is None or renderer is None:
            built_renderer, built_senders = notifiers(app.settings)
            senders = built_senders if senders is None else senders
            renderer = renderer or built_renderer
        self.app, self.senders, self.renderer = app, dict(senders), renderer
        self.policy = policy_from(app.settings, self.senders)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Stop sending a claimed batch while the lease still outlasts one more send.
        settings = app.settings
        self.send_window = settings.dispatch_lease_seconds - max(
            settings.smtp_timeout_seconds, settings.webhook_timeout_seconds
        )

    def plan(self) -> int:
        planned = 0
        for _ in range(PLAN_BATCHES_PER_ROUND):
            count = plan_deliveries(self.app.uow, self.renderer, self.policy, self.app.clock())
            planned += count
            if not count:
                break
        return planned

    def run_once(self) -> RoundResult:
        """Plan what is new, then claim and send one batch of due deliveries."""
        if not has_work(self.app.uow, self.app.clock()):
            return RoundResult()
        planned = self.plan()
        claimed = claim_due(self.app.uow, self.policy, self.app.clock(), self.worker_id)
        started = time.monotonic()
        sent = send_claimed(
            self.app.uow,
            claimed,
            self.senders,
            self.policy,
            self.app.clock,
            self.worker_id,
            still_leased=lambda: time.monotonic() - started < self.send_window,
        )
        return RoundResult(planned, sent.sent, sent.failed, sent.dead)

    def run_until_idle(self, max_rounds: int = 10_000) -> RoundResult:
        """Rounds until nothing is new or due now (retries scheduled later stay scheduled)."""
        total = RoundResult()
        for _ in range(max_rounds):
            result = self.run_once()
            if result.idle:
                break
            total = _add(total, result)
        return total

    def run_forever(self, stop: threading.Event) -> None:
        poll = self.app.settings.dispatch_poll_seconds
        while not stop.is_set():
            try:
                result = self.run_once()
            except Exception:  # the database may be away for a moment; try again later
                log.exception("dispatch round failed")
                result = RoundResult()
            if result.idle:
                stop.wait(poll)


def _add(a: RoundResult, b: RoundResult) -> RoundResult:
    return RoundResult(
        a.planned_events + b.planned_events, a.sent + b.sent, a.failed + b.failed, a.dead + b.dead
    )


@dataclass
class BackgroundDispatcher:
    thread: threading.Thread
    stop_event: threading.Event

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


def start_in_background(app: App) -> BackgroundDispatcher:
    """The dispatcher of `backorder serve`: a daemon thread, stopped when the server stops."""
    _log_to_stderr_if_asked(app.settings)
    dispatcher, stop = Dispatcher(app), threading.Event()
    thread = threading.Thread(
        target=dispatcher.run_forever, args=(stop,), name="backorder-dispatcher", daemon=True
    )
    thread.start()
    return BackgroundDispatcher(thread, stop)


def _log_to_stderr_if_asked(settings: Settings) -> None:
    """The log channel is for development: make sure its lines are seen."""
    notify_log = logging.getLogger("backorder.notify")
    if settings.notify_log and not notify_log.handlers:
        notify_log.addHandler(logging.StreamHandler())
        notify_log.setLevel(logging.INFO)


def register(cli_app) -> None:
    """Add `backorder worker` to the command line."""
    import typer

    @cli_app.command("worker")
    def worker(
        once: bool = typer.Option(False, "--once", help="Exit when nothing is due."),
    ) -> None:
        """Deliver events (e-mail, webhooks, log) after commit; several may run on PostgreSQL."""
        from .cli import backend

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        dispatcher = Dispatcher(backend())
        if once:
            typer.echo(str(dispatcher.run_until_idle()))
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        log.info("dispatcher %s started", dispatcher.worker_id)
        dispatcher.run_forever(stop)
