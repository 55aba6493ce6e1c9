"""Supply commands: suppliers, purchase orders, receipts, suggestions, quotes (issue 7)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from ..domain.errors import InvalidInput
from ..service import deliveries, purchasing, queries, quotes, replenishment
from .cli import _parse_pair, app, backend, run, show

supplier_cli = typer.Typer(help="Suppliers, what they sell, and how reliable they are.")
po_cli = typer.Typer(help="Purchase orders: create, send, move a date, receive, cancel a line.")
app.add_typer(supplier_cli, name="supplier")
app.add_typer(po_cli, name="po")


def _date(text: str, field_name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field_name, f"{text!r} is not a date (YYYY-MM-DD)") from None


@supplier_cli.command("add")
def supplier_add(
    name: str,
    lead_time_days: int,
    currency: str = "USD",
    contact: str | None = None,
    email: str | None = None,
) -> None:
    """Create a supplier with its default lead time in days."""
    supplier = purchasing.SupplierIn(name, lead_time_days, currency, contact, email)
    result = run(lambda: purchasing.create_supplier(backend().uow, supplier, backend().clock()))
    show(result, lambda s: f"supplier {s.id}: {s.name} ({s.lead_time_days} days)")


@supplier_cli.command("list")
def supplier_list() -> None:
    show(run(lambda: queries.suppliers(backend().uow)))


@supplier_cli.command("sells")
def supplier_sells(
    supplier_id: int,
    sku: str,
    pack_size: int = 1,
    min_order: int = 1,
    cost: int | None = None,
    preferred: bool = False,
) -> None:
    """Say that a supplier sells a SKU (pack size, minimum order, unit cost in minor units)."""
    show(
        run(
            lambda: purchasing.set_supplier_product(
                backend().uow,
                supplier_id,
                sku,
                backend().clock(),
                pack_size=pack_size,
                min_order=min_order,
                unit_cost_minor=cost,
                preferred=preferred,
            )
        )
    )


@supplier_cli.command("reliability")
def supplier_reliability(supplier_id: int) -> None:
    """On-time rate and mean / p90 lateness in days."""
    show(run(lambda: replenishment.supplier_reliability(backend().uow, supplier_id)))


def po_text(po) -> str:
    head = f"PO {po.id} ({po.status}) supplier {po.supplier_id} -> {po.warehouse}"
    lines = [
        f"  line {x.id}: {x.sku} qty {x.qty} received {x.received} open {x.open_qty} "
        f"expected {x.expected_date}"
        for x in po.lines
    ]
    return "\n".join([head, *lines])


@po_cli.command("create")
def po_create(
    supplier: Annotated[int, typer.Option(help="Supplier id")],
    line: Annotated[list[str], typer.Option(help="SKU:QTY:YYYY-MM-DD, repeat for more lines")],
    warehouse: str = "main",
    reference: str | None = None,
    draft: Annotated[bool, typer.Option(help="Keep as a draft (not supply yet)")] = False,
) -> None:
    """Create a purchase order (sent at once unless --draft)."""

    def action():
        lines = []
        for index, text in enumerate(line):
            if text.count(":") < 2:
                raise InvalidInput(f"line[{index}]", f"{text!r} must look like SKU:QTY:YYYY-MM-DD")
            head, _, when = text.rpartition(":")
            sku, qty = _parse_pair(head, f"line[{index}]", "SKU:QTY:YYYY-MM-DD")
            lines.append(purchasing.PoLineIn(sku, qty, _date(when, f"line[{index}].expected_date")))
        return purchasing.create_purchase_order(
            backend().uow,
            supplier,
            lines,
            backend().clock(),
            warehouse=warehouse,
            reference=reference,
            send=not draft,
        )

    show(run(action), po_text)


@po_cli.command("list")
def po_list(status: str | None = None) -> None:
    show(
        run(lambda: queries.purchase_orders(backend().uow, status)),
        lambda pos: "\n".join(po_text(p) for p in pos),
    )


@po_cli.command("send")
def po_send(po_id: int) -> None:
    show(
        run(lambda: purchasing.send_purchase_order(backend().uow, po_id, backend().clock())),
        po_text,
    )


@po_cli.command("move")
def po_move(po_line_id: int, expected_date: str) -> None:
    """Change a PO line's expected date; promises resting on it move too."""
    show(
        run(
            lambda: purchasing.change_expected_date(
                backend().uow, po_line_id, _date(expected_date, "expected_date"), backend().clock()
            )
        ),
        po_text,
    )


@po_cli.command("cancel-line")
def po_cancel_line(po_line_id: int) -> None:
    show(
        run(lambda: purchasing.cancel_po_line(backend().uow, po_line_id, backend().clock())),
        po_text,
    )


@po_cli.command("receive")
def po_receive(po_line_id: int, qty: int, reference: str | None = None) -> None:
    """Receive against a PO line; units go to waiting lines by priority."""
    show(
        run(
            lambda: purchasing.receive_po_line(
                backend().uow, po_line_id, qty, backend().clock(), reference
            )
        )
    )


@po_cli.command("receive-all")
def po_receive_all(po_id: int, reference: str | None = None) -> None:
    """Everything still open on the PO arrived: one delivery, a receipt per open line."""
    show(
        run(
            lambda: deliveries.receive_purchase_order(
                backend().uow, po_id, backend().clock(), reference
            )
        )
    )


@app.command("reverse-receipt")
def reverse_receipt(receipt_id: int) -> None:
    """Take a receipt back (refused for units already shipped)."""
    show(run(lambda: purchasing.reverse_receipt(backend().uow, receipt_id, backend().clock())))


@app.command()
def suggest(
    create: Annotated[bool, typer.Option("--create", help="Draft the POs")] = False,
) -> None:
    """What to order and from whom, to cover open backorders and safety stock."""
    rows = run(lambda: replenishment.suggestions(backend().uow, backend().clock()))
    show(
        rows,
        lambda rs: (
            "\n".join(
                f"{s['sku']}: order {s['qty']} from {s['supplier'] or '(no supplier)'} "
                f"(need {s['need']}; {_lead_and_arrival(s)})"
                for s in rs
            )
            or "nothing to order"
        ),
    )
    if create:
        show(run(lambda: replenishment.create_draft_orders(backend().uow, backend().clock())))


@app.command()
def availability(
    item: Annotated[list[str], typer.Argument(help="SKU:QTY ...")], customer: int | None = None
) -> None:
    """Quote without ordering: ships now, waits, promised date, or why not."""

    def action():
        items = [_parse_pair(text, f"item[{i}]") for i, text in enumerate(item)]
        return quotes.quote(backend().uow, items, backend().clock(), customer)

    show(
        run(action),
        lambda rs: "\n".join(
            f"{q['sku']} x{q['qty']}: "
            + (_quote_words(q) if q["orderable"] else f"cannot order: {q['reason']}")
            for q in rs
        ),
    )


def _lead_and_arrival(suggestion: dict) -> str:
    if suggestion["lead_time_days"] is None:
        return "no lead time known: no arrival date"
    return f"lead {suggestion['lead_time_days']} days, arrives {suggestion['arrival_date']}"


def _quote_words(q: dict) -> str:
    words = f"ships now {q['ship_now']}"
    if q["backordered"]:
        when = q["promised_date"] or "no date yet"
        words += f", waits {q['backordered']} until {when} ({q['promise_basis']})"
    return words


@app.command("sku")
def sku_view(sku: str) -> None:
    """The time-phased picture of a SKU."""
    show(run(lambda: queries.sku_view(backend().uow, sku)))
