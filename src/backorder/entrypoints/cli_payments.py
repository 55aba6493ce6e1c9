"""Payment commands (issue 4): `backorder payment ...` and the runner `backorder payments run`."""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from typing import Annotated

import typer

from ..service import payment_commands as commands
from ..service import payment_executor as executor
from ..service import payment_records as records
from ..service.payment_views import PaymentView
from .cli import AFTER_COMMAND, _parse_line_qty, app, audit, backend, run, show

payment_cli = typer.Typer(help="An order's payment: history, capture, void, refund, retry.")
payments_cli = typer.Typer(help="The payment runner: intents, renewals, grace periods.")
app.add_typer(payment_cli, name="payment")
app.add_typer(payments_cli, name="payments")


def _money(minor: int, currency: str) -> str:
    return f"{Decimal(minor).scaleb(-2):.2f} {currency}"


def payment_text(view: PaymentView) -> str:
    c = view.currency
    head = (
        f"order {view.order_id} ({view.status}) via {view.gateway}, {view.policy}: "
        f"authorized {_money(view.authorized, c)}, captured {_money(view.captured, c)}, "
        f"voided {_money(view.voided, c)}, refunded {_money(view.refunded, c)}, "
        f"still to capture {_money(view.outstanding, c)}"
    )
    ops = [
        f"  {op.created_at:%Y-%m-%d %H:%M} {op.kind} {op.status} {_money(op.amount_minor, c)}"
        f" {op.reference or ''}{' (' + op.detail + ')' if op.detail else ''}"
        for op in view.operations
    ]
    waiting = [
        f"  intent {i.id}: {i.kind} {_money(i.amount_minor, c)} ({i.reason}) {i.status}"
        for i in view.intents
        if i.status not in ("done", "failed")
    ]
    return "\n".join([head, *ops, *waiting])


def _run_intents_quietly() -> None:
    """After a command committed: execute what it decided (the loop in `serve` would too)."""
    current = backend()
    if not current.gateways:
        return
    try:
        executor.run_payment_intents(
            current.uow, current.gateways, current.clock(), current.payment_settings
        )
    except Exception as error:  # the command itself succeeded; `payments run` tries again
        print(f"warning: payment intents not run yet: {error}", file=sys.stderr)


AFTER_COMMAND.append(_run_intents_quietly)


@payment_cli.command("show")
def payment_show(order_id: int) -> None:
    """Authorized, captured, voided and refunded amounts, and every operation."""
    show(
        run(lambda: commands.payment_history(backend().uow, order_id, backend().clock())),
        payment_text,
    )


@payment_cli.command("attach")
def payment_attach(
    order_id: int,
    method: Annotated[str | None, typer.Option(help="Payment-method token")] = None,
    gateway: Annotated[str | None, typer.Option(help="Default: the shop's")] = None,
    policy: Annotated[str | None, typer.Option(help="on_shipment, on_allocation, deposit")] = None,
    deposit: Annotated[int | None, typer.Option(help="Deposit percentage")] = None,
) -> None:
    """Give an order placed without payment details its payment (a phone order)."""

    def action():
        current = backend()
        payment = commands.resolve_payment(
            current.payment_settings,
            current.gateways,
            gateway=gateway,
            method=method,
            policy=policy,
            deposit_percent=deposit,
        )
        return commands.attach_payment(current.uow, order_id, payment, current.clock())

    show(run(action), payment_text)


@payment_cli.command("capture")
def payment_capture(
    order_id: int,
    line: Annotated[list[str] | None, typer.Option(help="LINE_ID:UNITS; omit for all")] = None,
    reason: Annotated[str, typer.Option(help="Kept in the audit log")] = "requested",
) -> None:
    """Charge shipped or allocated units now (audit-logged)."""

    def action():
        lines = dict(_parse_line_qty(x) for x in line) if line else None
        return commands.capture_now(
            backend().uow, order_id, backend().clock(), lines, audit(reason)
        )

    show(run(action), payment_text)


@payment_cli.command("void")
def payment_void(order_id: int) -> None:
    """Release what the customer's card still holds for this order."""
    show(
        run(lambda: commands.void_authorizations(backend().uow, order_id, backend().clock())),
        payment_text,
    )


@payment_cli.command("refund")
def payment_refund(
    order_id: int,
    line_id: int,
    units: Annotated[int | None, typer.Option(help="Default: every paid unit")] = None,
    restock: Annotated[bool, typer.Option(help="Shipped units come back on hand")] = False,
) -> None:
    """Refund a line's paid units (unshipped ones are released, shipped ones are returns)."""
    show(
        run(
            lambda: commands.refund_line(
                backend().uow, order_id, line_id, backend().clock(), units, restock
            )
        ),
        payment_text,
    )


@payment_cli.command("retry")
def payment_retry(
    order_id: int, method: Annotated[str | None, typer.Option(help="Another method")] = None
) -> None:
    """Authorize again what is still owed (after a decline or an expiry)."""
    show(
        run(lambda: commands.retry_payment(backend().uow, order_id, backend().clock(), method)),
        payment_text,
    )


@payment_cli.command("mark-paid")
def payment_mark_paid(
    order_id: int,
    reason: Annotated[str, typer.Option(help="Kept in the audit log")] = "requested",
) -> None:
    """The money arrived outside the system (the manual gateway; audit-logged)."""
    current = backend()
    done = run(
        lambda: records.mark_paid(
            current.uow, order_id, current.clock(), current.payment_settings, audit(reason)
        )
    )
    typer.echo(f"{done} capture(s) confirmed")


@payments_cli.command("run")
def payments_run(
    loop: Annotated[bool, typer.Option(help="Keep running")] = False,
    every: Annotated[float | None, typer.Option(help="Seconds between rounds")] = None,
) -> None:
    """Renew lapsing authorizations, end grace periods, execute every due intent."""
    current = backend()

    def one_round() -> dict:
        return executor.run_payments(
            current.uow, current.gateways, current.clock(), current.payment_settings
        )

    while True:
        show(run(one_round))
        if not loop:
            return
        time.sleep(every or backend().settings.payment_loop_seconds)
