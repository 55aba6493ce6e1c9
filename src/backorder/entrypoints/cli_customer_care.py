"""Customer care commands (issue 8, part B): the due jobs, the back-in-stock waitlist, a
product's longest wait, delay-consent questions and the feedback report."""

from __future__ import annotations

from typing import Annotated

import typer

from ..service import auto_cancel, consent, feedback, jobs, waitlist
from .cli import app, backend, product_cli, run, show

jobs_cli = typer.Typer(help="Periodic jobs: holds, auto-cancel, consent deadlines.")
waitlist_cli = typer.Typer(help="Back-in-stock waitlist: subscribers and their held units.")
feedback_cli = typer.Typer(help="Customer feedback after delivery or cancellation.")
consent_cli = typer.Typer(help="Delay-consent questions sent when a promised date slips.")
app.add_typer(jobs_cli, name="jobs")
app.add_typer(waitlist_cli, name="waitlist")
app.add_typer(feedback_cli, name="feedback")
app.add_typer(consent_cli, name="consent")


@jobs_cli.command("run")
def jobs_run() -> None:
    """Run what is due now: expire holds and pass their units on, offer freed stock to
    subscribers, warn and cancel lines past their longest wait, apply consent deadlines."""
    done = run(lambda: jobs.run_due_jobs(backend().uow, backend().clock()))
    show(done, lambda d: "\n".join(f"{name}: {count}" for name, count in d.items()))


@waitlist_cli.command("subscribe")
def waitlist_subscribe(sku: str, customer_id: int) -> None:
    """Put a customer on the waitlist of a SKU that cannot be ordered now."""
    found = run(lambda: waitlist.subscribe(backend().uow, sku, customer_id, backend().clock()))
    show(found, lambda s: f"subscription {s.id}: customer {s.customer_id} waits for {s.sku}")


@waitlist_cli.command("list")
def waitlist_list(sku: str, closed: bool = False) -> None:
    """Subscribers of a SKU in serving order (--closed: with those already served)."""
    rows = run(lambda: waitlist.subscriptions(backend().uow, sku, open_only=not closed))
    show(rows, lambda rs: "\n".join(_subscription_text(s) for s in rs) or f"nobody waits for {sku}")


@waitlist_cli.command("leave")
def waitlist_leave(subscription_id: int) -> None:
    """End a subscription; a unit held for it goes to the next in line."""
    found = run(lambda: waitlist.unsubscribe(backend().uow, subscription_id, backend().clock()))
    show(found, _subscription_text)


@waitlist_cli.command("holds")
def waitlist_holds(sku: Annotated[str | None, typer.Argument()] = None) -> None:
    """Units held for subscribers now (counted as allocated)."""
    rows = run(lambda: waitlist.active_holds(backend().uow, sku))
    show(
        rows,
        lambda hs: (
            "\n".join(
                f"hold {h.id}: {h.qty} x {h.sku}@{h.warehouse} for customer {h.customer_id} "
                f"until {h.expires_at:%Y-%m-%d %H:%M} UTC"
                for h in hs
            )
            or "no holds"
        ),
    )


@product_cli.command("max-wait")
def product_max_wait(
    sku: str,
    days: Annotated[int | None, typer.Argument(help="Omit for the shop-wide setting")] = None,
) -> None:
    """Set how many days a line may wait for backordered units before it is cancelled."""
    result = run(lambda: auto_cancel.set_max_wait(backend().uow, sku, days, backend().clock()))
    show(
        result,
        lambda r: (
            f"{r['sku']}: longest wait "
            f"{r['max_wait_days'] if r['max_wait_days'] else 'from the shop setting'}"
        ),
    )


@consent_cli.command("list")
def consent_list(order_id: int) -> None:
    """The delay questions of an order and their answers."""
    rows = run(lambda: consent.for_order(backend().uow, order_id))
    show(
        rows,
        lambda rs: (
            "\n".join(
                f"{c['id']}: line {c['line_id']} {c['sku']} {c['first_promised_date']} -> "
                f"{c['promised_date'] or 'no date'}: {c['status']}"
                f"{' (' + c['answer'] + ')' if c['answer'] else ''}"
                for c in rs
            )
            or "no questions"
        ),
    )


@feedback_cli.command("report")
def feedback_report(lowest: int = 10) -> None:
    """Mean rating by waiting time and by promise delays; the lowest-rated comments."""
    result = run(lambda: feedback.report(backend().uow, lowest))
    show(result, _report_text)


def _subscription_text(s) -> str:
    hold = f", holds 1 until {s.hold.expires_at:%Y-%m-%d %H:%M} UTC" if s.status == "held" else ""
    return f"{s.id}: customer {s.customer_id} {s.status} since {s.subscribed_at:%Y-%m-%d}{hold}"


def _report_text(r: dict) -> str:
    lines = [f"answered {r['answered']} of {r['requested']}, mean {r['mean_rating']}"]
    lines += [
        f"  waited {g['bucket']}: {g['answers']} answers, mean {g['mean_rating']}"
        for g in r["by_waiting_time"]
    ]
    lines += [
        f"  {g['promise_delays']} promise delay(s): {g['answers']} answers, mean {g['mean_rating']}"
        for g in r["by_promise_delays"]
    ]
    lines += [
        f"  {c['rating']}/5 order {c['order_id']}: {c['comment']}"
        for c in r["lowest_rated_comments"]
    ]
    return "\n".join(lines)
