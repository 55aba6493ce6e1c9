"""Facts in words, in the reader's language: the priority key, a promise, an event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from .i18n import Formatter


def priority_words(q, _: Callable, fmt: Formatter, label: Callable) -> str:
    """The priority key of a waiting line, first part first."""
    parts = []
    if q.override:
        parts.append(
            _("raised by an operator ({n:+d})", n=q.override)
            if q.override < 0
            else _("lowered by an operator ({n:+d})", n=q.override)
        )
    parts += [  # a QueueRow, or a domain WaitingLine (enums, `ordered_at`)
        _("{tier} customer", tier=label("tier", getattr(q.tier, "value", q.tier)).lower()),
        _(
            "{paid} shipping",
            paid=label("paid", getattr(q.paid_priority, "value", q.paid_priority)),
        ),
        _("due {date}", date=fmt.date(q.due)),
        _("ordered {at}", at=fmt.datetime(getattr(q, "placed_at", None) or q.ordered_at)),
        _("line {n}", n=q.line_id),
    ]
    sentence = ", ".join(parts)
    return sentence[:1].upper() + sentence[1:]


def promise_words(line, expected: dict, _: Callable, fmt: Formatter) -> str:
    """What a waiting line's promised date rests on, for the customer."""
    basis = line.promise_basis or "none"
    if basis == "purchase_order":
        when = expected.get(line.promise_po_line_id)
        return (
            _("backed by a purchase order expected {date}", date=fmt.date(when))
            if when
            else _("backed by a purchase order")
        )
    return {
        "lead_time": _("an estimate from the supplier's usual delivery time"),
        "stock": _("the product's release date"),
    }.get(basis, _("no date yet: no delivery is planned"))


def event_words(kind: str, details: dict, _: Callable, label: Callable, fmt: Formatter) -> str:
    """One timeline entry: the event in words, with its quantities when it has some."""
    text = label("event", kind)
    lines = [line for line in details.get("lines", ()) if isinstance(line, dict)]
    units = sum(
        int(line.get(key) or 0)
        for line in lines
        for key in ("allocated", "backordered", "cancelled")
        if key in line
    )
    if kind in ("promise_delayed", "promise_improved") and details.get("promised_date"):
        day = date.fromisoformat(str(details["promised_date"])[:10])
        return _("{event}: now {date}", event=text, date=fmt.date(day))
    if kind == "order_backordered" and details.get("backordered"):
        return _("{event}: {n} unit(s) waiting", event=text, n=details["backordered"])
    if kind in ("units_allocated", "order_ready_to_ship") and units:
        return _("{event}: {n} unit(s)", event=text, n=units)
    return text
