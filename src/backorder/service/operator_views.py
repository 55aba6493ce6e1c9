"""What the operator pages read (issue 5): the dashboard and the queue across SKUs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..domain.allocation import WaitingLine, describe_key, priority_key
from ..domain.model import PaidPriority, Tier
from . import reports
from .ports import UnitOfWork

PAYMENT_EVENTS = ("payment_required",)  # written by the payments feature when it is on


@dataclass(frozen=True)
class QueueRow:
    position: int  # in its SKU's queue, 1 = served next
    line_id: int
    order_id: int
    sku: str
    customer_id: int
    customer_name: str
    tier: str
    qty: int
    allocated: int
    backordered: int
    placed_at: datetime
    age_days: int
    promised_date: date | None
    promise_basis: str | None
    first_promised_date: date | None
    promise_changes: int
    override: int
    fulfilment: str
    why: str  # the priority key in words
    unit_price_minor: int
    currency: str
    paid_priority: str
    due: datetime
    order_allocated: int  # units the whole order holds

    @property
    def slipped_days(self) -> int:
        if self.promised_date and self.first_promised_date:
            return max(0, (self.promised_date - self.first_promised_date).days)
        return 0

    @property
    def holds_units(self) -> bool:
        """A ship-complete order keeping units while this line waits: an operator may release."""
        return self.fulfilment == "ship_complete" and self.order_allocated > 0


def queue_rows(
    uow: UnitOfWork,
    now: datetime,
    *,
    sku: str | None = None,
    customer: str | None = None,
    tier: str | None = None,
    min_age: int | None = None,
    max_age: int | None = None,
) -> list[QueueRow]:
    """Waiting lines in serving order per SKU, with their positions, then filtered."""
    with uow.reader() as r:
        rows = r.store.waiting_line_rows(sku or None)
    ranked = _ranked(rows, now)
    needle = (customer or "").strip().lower()
    return [
        q
        for q in ranked
        if (not needle or needle in q.customer_name.lower() or needle == str(q.customer_id))
        and (not tier or q.tier == tier)
        and (min_age is None or q.age_days >= min_age)
        and (max_age is None or q.age_days <= max_age)
    ]


def _ranked(rows: list[dict], now: datetime) -> list[QueueRow]:
    by_sku: dict[str, list[tuple[WaitingLine, dict]]] = defaultdict(list)
    for row in rows:
        by_sku[row["sku"]].append((_waiting(row), row))
    ranked = []
    for sku in sorted(by_sku):
        ordered = sorted(by_sku[sku], key=lambda pair: priority_key(pair[0]))
        ranked += [
            _queue_row(position, line, row, now)
            for position, (line, row) in enumerate(ordered, start=1)
        ]
    return ranked


def _waiting(row: dict) -> WaitingLine:
    return WaitingLine(
        row["line_id"],
        row["order_id"],
        row["sku"],
        row["backordered"],
        Tier(row["tier"]),
        PaidPriority(row["paid_priority"]),
        row["requested_date"] or row["placed_at"],
        row["placed_at"],
        row["priority_override"],
    )


def _queue_row(position: int, line: WaitingLine, row: dict, now: datetime) -> QueueRow:
    return QueueRow(
        position,
        row["line_id"],
        row["order_id"],
        row["sku"],
        row["customer_id"],
        row["customer_name"],
        row["tier"],
        row["qty"],
        row["allocated"],
        row["backordered"],
        row["placed_at"],
        max(0, (now - row["placed_at"]).days),
        row["promised_date"],
        row["promise_basis"],
        row["first_promised_date"],
        row["promise_changes"],
        row["priority_override"],
        row["fulfilment"],
        describe_key(line),
        row["unit_price_minor"],
        row["currency"],
        row["paid_priority"],
        line.due,
        row["order_allocated"],
    )


def dashboard(uow: UnitOfWork, now: datetime) -> dict:
    queue = queue_rows(uow, now)
    value: dict[str, int] = defaultdict(int)
    for q in queue:
        value[q.currency] += q.backordered * q.unit_price_minor
    with uow.reader() as r:
        payment_events = r.store.events_between(
            PAYMENT_EVENTS, now - timedelta(days=30), now + timedelta(seconds=1), limit=10
        )
        dead = r.store.dead_deliveries(10)
        names = r.store.product_names({q.sku for q in queue})
    return {
        "open": {
            "lines": len(queue),
            "units": sum(q.backordered for q in queue),
            "value": dict(sorted(value.items())),
        },
        "rates": {
            days: {
                "fill": reports.fill_rate(uow, now, days).summary,
                "backorder": reports.backorder_rate(uow, now, days).summary,
            }
            for days in (7, 30)
        },
        "ageing": reports.ageing(uow, now),
        "top_skus": _top_skus(queue, names),
        "slipped": sorted(
            (q for q in queue if q.promise_changes > 0 or q.slipped_days),
            key=lambda q: (-q.slipped_days, -q.promise_changes, q.line_id),
        )[:10],
        "payment_problems": payment_events,
        "dead_deliveries": dead,
    }


def _top_skus(queue: list[QueueRow], names: dict[str, str], limit: int = 10) -> list[dict]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for q in queue:
        totals[q.sku][0] += 1
        totals[q.sku][1] += q.backordered
    ranked = sorted(totals.items(), key=lambda item: (-item[1][1], item[0]))[:limit]
    return [
        {"sku": sku, "name": names.get(sku, ""), "lines": lines, "units": units}
        for sku, (lines, units) in ranked
    ]


def search_products(uow: UnitOfWork, text: str, limit: int = 200) -> list[dict]:
    """Products whose SKU or name contains `text` (any case)."""
    with uow.reader() as r:
        return r.store.search_products(text.strip()[:100], limit)


def po_expected_dates(uow: UnitOfWork, po_line_ids) -> dict[int, date]:
    """When each PO line is expected: what a purchase-order-backed promise rests on."""
    with uow.reader() as r:
        lines = [r.store.get_po_line(i) for i in sorted({i for i in po_line_ids if i})]
    return {line.id: line.expected_date for line in lines if line is not None}


def product_names(uow: UnitOfWork, skus) -> dict[str, str]:
    with uow.reader() as r:
        return r.store.product_names(skus)
