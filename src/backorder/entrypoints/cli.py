"""The command line, over the same service functions as the API: `backorder --help`."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ..bootstrap import App, build
from ..config import Settings
from ..domain.errors import DomainError, InvalidInput
from ..domain.model import BackorderPolicy, Fulfilment, PaidPriority, Product, Tier
from ..service import audit as audit_log
from ..service import catalog, orders, queries, stock, validation
from ..service.audit import Audit
from ..service.promising import start_of_local_day
from . import serialize
from .errors import exit_code

app = typer.Typer(
    help="backorder: exact stock, a fair backorder queue, honest promises.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
product_cli = typer.Typer(help="Products: SKU, price, backorder policy and limit, release time.")
customer_cli = typer.Typer(help="Customers with a tier and a default fulfilment choice.")
order_cli = typer.Typer(help="Orders: place, show, edit, cancel, ship.")
warehouse_cli = typer.Typer(help="Warehouses, served in rank order.")
app.add_typer(product_cli, name="product")
app.add_typer(customer_cli, name="customer")
app.add_typer(order_cli, name="order")
app.add_typer(warehouse_cli, name="warehouse")

T = TypeVar("T")
APP_FACTORY = "backorder.entrypoints.api.app:create_app"  # `serve --workers N` imports this
_state: dict[str, Any] = {"url": None, "json": False}
# Called after every command that succeeded (issue 4: execute the payment intents it wrote).
AFTER_COMMAND: list[Callable[[], None]] = []


@app.callback()
def _options(
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="BACKORDER_DATABASE_URL", help="sqlite:///PATH or postgresql+psycopg://..."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    _state["url"] = database_url
    _state["json"] = as_json


@cache
def backend() -> App:
    settings = Settings(database_url=_state["url"]) if _state["url"] else Settings()
    return build(settings)


def run(action: Callable[[], T]) -> T:
    """Run a command; a domain error prints its reason and exits with its code, changing nothing."""
    try:
        result = action()
    except DomainError as error:
        typer.echo(f"error [{error.code}]: {error.message}", err=True)
        raise typer.Exit(exit_code(error.code)) from None
    for hook in AFTER_COMMAND:
        hook()
    return result


def audit(reason: str) -> Audit:
    """An operator's action from the command line, named by the OS user who ran it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return Audit(f"cli:{user}", reason)


def show(value: Any, text: Callable[[Any], str] | None = None) -> None:
    if _state["json"] or text is None:
        typer.echo(json.dumps(serialize.plain(value), indent=2, default=str))
    else:
        typer.echo(text(value))


def parse_money(value: str, field_name: str = "price") -> int:
    """'12.50' -> 1250 minor units (two-decimal currencies); refuses fractions of a cent."""
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise InvalidInput(field_name, f"{value!r} is not a number") from None
    minor = amount * 100
    if amount < 0 or minor != minor.to_integral_value():
        raise InvalidInput(
            field_name, f"{value!r} is not a non-negative amount with at most 2 decimals"
        )
    return int(minor)


def parse_time(value: str | None, field_name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field_name, f"{value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise InvalidInput(field_name, "needs a UTC offset, e.g. 2027-01-01T00:00:00+00:00")
    return parsed


# -- service ---------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default 8000")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes (best on PostgreSQL); each builds the app from the "
            "BACKORDER_* environment",
        ),
    ] = 1,
) -> None:
    """Start the HTTP API (OpenAPI at /docs) with the preorder release check and, unless
    BACKORDER_DISPATCH_IN_SERVE=false, the notification dispatcher (one, in this process)."""
    import uvicorn

    from .api.app import create_app
    from .worker import start_in_background

    settings = backend().settings  # migrates the database before any worker starts
    dispatcher = start_in_background(backend()) if settings.dispatch_in_serve else None
    where = {"host": host or settings.host, "port": port or settings.port}
    try:
        if workers == 1:
            uvicorn.run(create_app(backend()), **where)
        else:
            # Worker processes build the app themselves, from BACKORDER_* in the environment.
            os.environ["BACKORDER_DATABASE_URL"] = settings.database_url
            uvicorn.run(APP_FACTORY, factory=True, workers=workers, **where)
    finally:
        if dispatcher:
            dispatcher.stop()


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    backend()
    typer.echo(f"database ready: {backend().settings.database_url}")


@app.command()
def check() -> None:
    """Verify every invariant of DESIGN.md §3; exits 1 on a breach."""
    breaches = queries.check(backend().uow)
    for breach in breaches:
        typer.echo(f"BREACH {breach.invariant}: {breach.subject}: {breach.detail}")
    if breaches:
        raise typer.Exit(1)
    typer.echo("ok: every invariant holds")


@app.command("backup")
def backup_command(file: Path) -> None:
    """Write a consistent backup of the database to FILE while the service runs."""
    from ..adapters.db.backup import backup

    backup(backend().engine, file)
    typer.echo(f"backup written: {file}")


@app.command("restore")
def restore_command(file: Path) -> None:
    """Replace the database's content with the backup in FILE (stop the service first)."""
    from ..adapters.db.backup import restore

    if not file.exists():
        typer.echo(f"error: {file} does not exist", err=True)
        raise typer.Exit(2)
    restore(backend().engine, file)
    typer.echo(f"restored from {file}; `backorder check` verifies it")


# -- catalog ---------------------------------------------------------------------------------


@product_cli.command("add")
def product_add(
    sku: str,
    name: str,
    price: Annotated[str, typer.Option(help="Unit price, e.g. 12.50")] = "0",
    currency: str = "USD",
    policy: Annotated[BackorderPolicy, typer.Option(help="deny, allow or allow_notify")] = (
        BackorderPolicy.DENY
    ),
    limit: Annotated[int | None, typer.Option(help="Backorder limit; omit for unlimited")] = None,
    release_at: Annotated[
        str | None, typer.Option(help="Preorder release, ISO 8601 + offset")
    ] = None,
    release_date: Annotated[
        str | None, typer.Option(help="Preorder release day, shop time")
    ] = None,
    lead_time: Annotated[int | None, typer.Option(help="Lead time in days")] = None,
    safety_stock: int = 0,
) -> None:
    """Create or update a product."""

    def action():
        released = parse_time(release_at, "release_at")
        if release_date is not None:
            released = start_of_local_day(
                _parse_date(release_date, "release_date"), backend().settings.shop_timezone
            )
        product = Product(
            sku,
            name,
            parse_money(price),
            currency,
            policy,
            limit,
            released,
            lead_time,
            safety_stock,
        )
        return catalog.save_product(backend().uow, product, backend().clock())

    saved, created = run(action)
    show(saved, lambda p: f"{'created' if created else 'updated'} {p.sku}: {p.name}")


def _parse_date(text: str, field_name: str):
    from datetime import date

    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field_name, f"{text!r} is not a date (YYYY-MM-DD)") from None
    return validation.day(day, field_name)  # in range before the time-zone shift can overflow


@product_cli.command("list")
def product_list(limit: int = 100, offset: int = 0) -> None:
    """List products."""
    rows = run(lambda: queries.products(backend().uow, limit, offset))
    show(
        rows,
        lambda ps: "\n".join(
            f"{p.sku}\t{p.name}\t{p.price_minor}\t{p.backorder_policy.value}\tlimit={p.backorder_limit}"
            for p in ps
        ),
    )


@warehouse_cli.command("add")
def warehouse_add(code: str, name: str, rank: int = 0) -> None:
    """Create or update a warehouse; lower rank is used first."""
    show(run(lambda: catalog.save_warehouse(backend().uow, code, name, rank)))


@warehouse_cli.command("list")
def warehouse_list() -> None:
    show(run(lambda: queries.warehouses(backend().uow)))


@customer_cli.command("add")
def customer_add(
    name: str,
    email: str | None = None,
    tier: Tier = Tier.STANDARD,
    fulfilment: Fulfilment = Fulfilment.SHIP_PARTIAL,
    locale: str = "en",
    external_id: str | None = None,
) -> None:
    """Create a customer."""
    customer = catalog.CustomerIn(name, email, tier, fulfilment, locale, external_id)
    created = run(lambda: catalog.create_customer(backend().uow, customer, backend().clock()))
    show(created, lambda c: f"customer {c.id}: {c.name} ({c.tier})")


@customer_cli.command("list")
def customer_list(limit: int = 100) -> None:
    show(run(lambda: queries.customers(backend().uow, limit)))


# -- stock -----------------------------------------------------------------------------------


@app.command("stock")
def stock_show(sku: Annotated[str | None, typer.Argument()] = None) -> None:
    """On hand, allocated and available per SKU and warehouse."""
    rows = run(lambda: queries.stock(backend().uow, sku))
    show(
        rows,
        lambda rs: "\n".join(
            ["sku\twarehouse\ton_hand\tallocated\tavailable"]
            + [f"{r.sku}\t{r.warehouse}\t{r.on_hand}\t{r.allocated}\t{r.available}" for r in rs]
        ),
    )


@app.command()
def receive(sku: str, qty: int, warehouse: str = "main", reference: str | None = None) -> None:
    """Receive units; they go to waiting lines in priority order at once."""
    result = run(
        lambda: stock.receive_stock(
            backend().uow, sku, warehouse, qty, backend().clock(), reference=reference
        )
    )
    show(
        result,
        lambda r: (
            f"{'already received' if r['repeated'] else 'received'} {r['qty']} {sku}: on_hand "
            f"{r['on_hand']}, {r['allocated_to_lines']} unit(s) to "
            f"{r['lines_served']} waiting line(s)"
        ),
    )


@app.command()
def adjust(
    sku: str,
    warehouse: str = "main",
    delta: int | None = None,
    count: int | None = None,
    reason: Annotated[str, typer.Option(help="Ledger reason code, e.g. damaged, count")] = (
        "adjustment"
    ),
    reference: str | None = None,
    note: Annotated[str | None, typer.Option(help="Why, in your words (audit log)")] = None,
) -> None:
    """Correct on_hand by --delta or to a counted --count (never below what is allocated);
    kept in the audit log with your OS user name."""
    show(
        run(
            lambda: stock.adjust_stock(
                backend().uow,
                sku,
                warehouse,
                backend().clock(),
                delta=delta,
                count=count,
                reason=reason,
                reference=reference,
                audit=audit(audit_log.why(reason, note)),
            )
        )
    )


@app.command("release-preorders")
def release_preorders() -> None:
    """Serve the queues of SKUs whose release time has passed."""
    show(run(lambda: stock.release_preorders(backend().uow, backend().clock())))


@app.command()
def ledger(sku: Annotated[str | None, typer.Argument()] = None, limit: int = 50) -> None:
    """The latest stock movements."""
    show(run(lambda: queries.ledger(backend().uow, sku, limit)))


# -- orders ----------------------------------------------------------------------------------


def _parse_pair(text: str, field_name: str, shape: str = "SKU:QTY") -> tuple[str, int]:
    """`NAME:QTY` (the name may hold colons); the error says which part is wrong."""
    name, sep, number = text.rpartition(":")
    if not sep or not name:
        raise InvalidInput(field_name, f"{text!r} must look like {shape}")
    if not number.isdigit():
        raise InvalidInput(field_name, f"{text!r}: the quantity must be a whole number, 1 or more")
    return name, int(number)


def _parse_line_qty(text: str, field_name: str = "line") -> tuple[int, int]:
    """`LINE_ID:QTY`, as `order ship --line` and `capture --line` take them."""
    line_id, qty = _parse_pair(text, field_name, "LINE_ID:QTY")
    if not line_id.isdigit():
        raise InvalidInput(field_name, f"{text!r}: the line id must be a number (see order show)")
    return int(line_id), qty


def order_text(order) -> str:
    head = f"order {order.id} ({order.status}), customer {order.customer_id}, {order.fulfilment}"
    lines = [
        f"  line {x.id}: {x.sku} qty {x.qty} allocated {x.allocated} backordered {x.backordered} "
        f"shipped {x.shipped} cancelled {x.cancelled} [{x.state}]"
        for x in order.lines
    ]
    return "\n".join([head, *lines])


@order_cli.command("place")
def order_place(
    customer: Annotated[int, typer.Option(help="Customer id")],
    line: Annotated[list[str], typer.Option(help="SKU:QTY, repeat for more lines")],
    fulfilment: Annotated[Fulfilment | None, typer.Option()] = None,
    priority: PaidPriority = PaidPriority.NORMAL,
    requested_date: Annotated[str | None, typer.Option(help="ISO 8601 with offset")] = None,
    ref: Annotated[str | None, typer.Option(help="External reference (idempotent)")] = None,
) -> None:
    """Place an order: allocate what is there, backorder the rest within policy."""

    def action():
        lines = [orders.OrderLineIn(*_parse_pair(x, f"line[{i}]")) for i, x in enumerate(line)]
        cmd = orders.PlaceOrder(
            customer,
            lines,
            fulfilment,
            priority,
            parse_time(requested_date, "requested_date"),
            ref,
            "cli",
        )
        return orders.place_order(backend().uow, cmd, backend().clock())

    show(run(action), order_text)


@order_cli.command("show")
def order_show(order_id: int) -> None:
    show(run(lambda: queries.order(backend().uow, order_id)), order_text)


@order_cli.command("cancel")
def order_cancel(
    order_id: int,
    line: Annotated[int | None, typer.Option(help="Only this line")] = None,
    reason: str = "requested",
) -> None:
    """Cancel an order (or one line); releases exactly what it still holds (audit-logged)."""
    uow, now = backend().uow, backend().clock()
    if line is None:
        result = run(lambda: orders.cancel_order(uow, order_id, now, reason, audit(reason)))
    else:
        result = run(lambda: orders.cancel_line(uow, order_id, line, now, reason, audit(reason)))
    show(result, order_text)


@order_cli.command("edit")
def order_edit(order_id: int, line_id: int, qty: int) -> None:
    """Change a line's quantity."""
    result = run(
        lambda: orders.change_line_qty(backend().uow, order_id, line_id, qty, backend().clock())
    )
    show(result, order_text)


@order_cli.command("ship")
def order_ship(
    order_id: int,
    line: Annotated[
        list[str] | None, typer.Option(help="LINE_ID:QTY; omit to ship all allocated")
    ] = None,
    reference: str | None = None,
) -> None:
    """Ship allocated units; on_hand falls only here."""

    def action():
        quantities = None
        if line:
            quantities = dict(_parse_line_qty(x) for x in line)
        return orders.ship_order(backend().uow, order_id, backend().clock(), quantities, reference)

    show(
        run(action),
        lambda r: (
            f"shipment {r['shipment_id']}: "
            + ", ".join(f"line {x['line_id']} {x['qty']} from {x['warehouse']}" for x in r["lines"])
        ),
    )


@app.command()
def queue(sku: str) -> None:
    """The waiting lines of a SKU, in the order they will be served."""
    rows = run(lambda: queries.queue(backend().uow, sku))
    show(
        rows,
        lambda rs: (
            "\n".join(
                f"{q.position}. order {q.order_id} line {q.line_id}: "
                f"waits {q.backordered} ({q.priority})"
                for q in rs
            )
            or f"nobody waits for {sku}"
        ),
    )


@app.command("log")
def allocation_log(sku: str | None = None, order: int | None = None, limit: int = 100) -> None:
    """The allocation log: who got how many, from what, and why."""
    rows = run(lambda: queries.allocation_log(backend().uow, sku, order, limit))
    show(
        rows,
        lambda rs: "\n".join(
            f"{e.created_at:%Y-%m-%d %H:%M} {e.sku}@{e.warehouse} -> "
            f"order {e.order_id} line {e.line_id}: "
            f"{e.reason}"
            for e in rs
        ),
    )


@app.command()
def explain(sku: str, first_order: int, second_order: int) -> None:
    """Why one order gets (or got) stock of a SKU before another."""
    result = run(lambda: queries.explain(backend().uow, sku, first_order, second_order))
    show(result, lambda r: r["verdict"])


def _register_more_commands() -> None:
    from . import (  # noqa: F401  (register commands)
        cli_access,
        cli_audit,  # noqa: F401  (issue 6: the audit log)
        cli_customer_care,  # noqa: F401  (issue 8: waitlist, jobs, feedback)
        cli_deliveries,  # noqa: F401  (a supplier delivery of many SKUs)
        cli_export,
        cli_notify,
        cli_payments,  # noqa: F401  (issue 4: payment, payments run)
        cli_supply,
        cli_web,  # noqa: F401  (issue 5: web users, customer links)
    )
    from .cli_risk import register as register_risk

    register_risk(app)
    _register_importers()
    cli_export.register(app)


def _register_importers() -> None:
    from .cli_import import register

    register(app)


_register_more_commands()


def main() -> None:
    app(prog_name="backorder")


if __name__ == "__main__":
    sys.exit(main())
