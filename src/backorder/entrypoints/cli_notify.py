"""Notification commands: webhooks, opt-outs, the delivery log, an order's timeline (issue 8)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..service import notify_admin
from . import worker
from .cli import app, backend, customer_cli, order_cli, run, show

webhook_cli = typer.Typer(help="Merchant webhooks: signed JSON POSTs of events.")
delivery_cli = typer.Typer(help="The delivery log: every message per event, recipient, channel.")
app.add_typer(webhook_cli, name="webhook")
app.add_typer(delivery_cli, name="delivery")
worker.register(app)


@webhook_cli.command("add")
def webhook_add(
    url: str,
    event: Annotated[list[str] | None, typer.Option(help="Event kind; repeat; omit: all")] = None,
    secret: Annotated[str | None, typer.Option(help="Signing secret; generated if omitted")] = None,
    description: str | None = None,
) -> None:
    """Register an endpoint; prints its signing secret."""
    endpoint = run(
        lambda: notify_admin.add_webhook(
            backend().uow, url, backend().clock(), event or (), secret, description
        )
    )
    show(
        endpoint,
        lambda e: (
            f"webhook {e.id}: {e.url} "
            f"({', '.join(e.event_kinds) or 'every kind'})\nsecret: {e.secret}"
        ),
    )


@webhook_cli.command("list")
def webhook_list() -> None:
    endpoints = run(lambda: notify_admin.webhooks(backend().uow))
    show(
        [_without_secret(e) for e in endpoints],
        lambda es: (
            "\n".join(
                f"{e['id']}\t{'active' if e['active'] else 'removed'}\t{e['url']}\t"
                f"{','.join(e['event_kinds']) or '*'}"
                for e in es
            )
            or "no webhooks"
        ),
    )


@webhook_cli.command("remove")
def webhook_remove(endpoint_id: int) -> None:
    """Stop sending to an endpoint; what is still waiting for it is dead-lettered."""
    endpoint = run(
        lambda: notify_admin.remove_webhook(backend().uow, endpoint_id, backend().clock())
    )
    show(_without_secret(endpoint), lambda e: f"webhook {e['id']} removed")


def _without_secret(endpoint) -> dict:
    from . import serialize

    return {k: v for k, v in serialize.plain(endpoint).items() if k != "secret"}


@customer_cli.command("opt-out")
def customer_opt_out(customer_id: int, channel: str = "email") -> None:
    """Send this customer nothing more on a channel."""
    channels = run(
        lambda: notify_admin.set_opt_out(
            backend().uow, customer_id, channel, True, backend().clock()
        )
    )
    show(channels, lambda cs: f"customer {customer_id} opted out of: {', '.join(cs)}")


@customer_cli.command("opt-in")
def customer_opt_in(customer_id: int, channel: str = "email") -> None:
    """Undo an opt-out."""
    channels = run(
        lambda: notify_admin.set_opt_out(
            backend().uow, customer_id, channel, False, backend().clock()
        )
    )
    show(channels, lambda cs: f"customer {customer_id} opted out of: {', '.join(cs) or 'nothing'}")


@order_cli.command("timeline")
def order_timeline(order_id: int) -> None:
    """Every event of an order and every message sent about it, in time order."""
    entries = run(lambda: notify_admin.timeline(backend().uow, order_id))
    show(
        entries,
        lambda es: "\n".join(f"{e.at:%Y-%m-%d %H:%M:%S} {e.entry:<7} {e.summary}" for e in es),
    )


@delivery_cli.command("list")
def delivery_list(
    status: Annotated[str | None, typer.Option(help="pending, sent, failed or dead")] = None,
    order: int | None = None,
    limit: int = 100,
) -> None:
    rows = run(lambda: notify_admin.deliveries(backend().uow, status, order, limit))
    show(
        [_log_row(d) for d in rows],
        lambda ds: (
            "\n".join(
                f"{d['id']}\t{d['status']}\t{d['attempts']}\t{d['channel']}\t{d['recipient']}\t"
                f"{d['kind']}\t{d['last_error'] or ''}"
                for d in ds
            )
            or "no deliveries"
        ),
    )


@delivery_cli.command("retry")
def delivery_retry(delivery_id: int) -> None:
    """Give a dead delivery a fresh set of tries."""
    found = run(lambda: notify_admin.retry_delivery(backend().uow, delivery_id, backend().clock()))
    show(_log_row(found), lambda d: f"delivery {d['id']}: {d['status']}")


def _log_row(delivery) -> dict:
    from . import serialize

    hidden = ("secret", "body", "body_html")
    return {k: v for k, v in serialize.plain(delivery).items() if k not in hidden}
