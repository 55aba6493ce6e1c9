"""Reports (issue 5): how well the shop keeps its promises, over a window of days.

Each report is plain SQL reads (the store) and Python arithmetic, and returns a `Report`:
headline numbers, a table (also the CSV), and the series its chart draws. Definitions:

- fill rate: of the lines and units ordered in the window, the share allocated at order
  time (the `order_placed` event records what each line got the moment it was placed);
- backorder rate: the share of those lines (and units) that went on backorder at order time;
- time to fulfil: for lines served from the queue and fully allocated in the window, the time
  from the order to the last unit allocated (the allocation log); mean and 90th percentile;
- promise accuracy: of those lines with a promised date, the share allocated by the FIRST
  date promised (shop-local dates); lines still waiting past it are counted apart;
- cancellations caused by waiting: cancelled waiting units (a line's cancel event says how
  many it released and how many it cancelled; the difference was waiting) by reason:
  `max_wait` (auto-cancel), a declined or unanswered delay, or the customer;
- supplier on-time rate: PO lines completed in the window, on time when the last receipt came
  by the first expected date;
- feedback by waiting time: mean rating per waiting bucket (when feedback is collected);
- ageing: open backorder lines by days waited (0-7, 8-14, 15-30, 30+).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .ports import UnitOfWork
from .promising import local_date

AGE_BUCKETS = ((0, 7, "0-7"), (8, 14, "8-14"), (15, 30, "15-30"), (31, None, "30+"))
WAITING_REASONS = {
    "max_wait": "max_wait",
    "delay_declined": "delay_declined",
    "delay_consent_deadline": "delay_declined",
    "customer": "customer",
    "requested": "customer",
}


@dataclass(frozen=True)
class Report:
    name: str
    days: int
    start: datetime
    end: datetime
    summary: dict
    columns: tuple[str, ...]
    rows: list[tuple]
    chart: list[tuple[str, float]]  # (label, value) bars
    chart_unit: str  # "%", "days", "lines", "rating"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        return {
            "report": self.name,
            "days": self.days,
            "start": self.start,
            "end": self.end,
            "summary": self.summary,
            "columns": list(self.columns),
            "rows": [dict(zip(self.columns, row, strict=True)) for row in self.rows],
            "chart": [{"label": label, "value": value} for label, value in self.chart],
            "chart_unit": self.chart_unit,
            "notes": list(self.notes),
        }


def window(now: datetime, days: int) -> tuple[datetime, datetime]:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3660:
        from ..domain.errors import InvalidInput

        raise InvalidInput("days", "must be a whole number of days from 1 to 3660")
    return now - timedelta(days=days), now + timedelta(microseconds=1)


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def percent(value: float | None) -> float:
    return round(100 * value, 1) if value is not None else 0.0


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of unsorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


# -- order time: fill rate and backorder rate -------------------------------------------------


def _placed_lines(uow: UnitOfWork, start: datetime, end: datetime) -> list[tuple]:
    """(shop-local day, qty, allocated, backordered) per line placed in the window."""
    with uow.reader() as r:
        events = r.store.events_between(("order_placed",), start, end)
    return [
        (
            local_date(e.created_at, uow.shop_timezone),
            line["qty"],
            line["allocated"],
            line["backordered"],
        )
        for e in events
        for line in e.payload.get("lines", ())
    ]


def fill_rate(uow: UnitOfWork, now: datetime, days: int = 30) -> Report:
    start, end = window(now, days)
    per_day: dict = defaultdict(lambda: [0, 0, 0, 0])  # lines, filled lines, units, units allocated
    for day, qty, allocated, _ in _placed_lines(uow, start, end):
        totals = per_day[day]
        totals[0] += 1
        totals[1] += int(allocated >= qty)
        totals[2] += qty
        totals[3] += allocated
    rows = [
        (day.isoformat(), *t, ratio(t[1], t[0]), ratio(t[3], t[2]))
        for day, t in sorted(per_day.items())
    ]
    lines, filled, units, allocated = (sum(t[i] for t in per_day.values()) for i in range(4))
    summary = {
        "lines": lines,
        "lines_filled": filled,
        "line_fill_rate": ratio(filled, lines),
        "units": units,
        "units_allocated": allocated,
        "unit_fill_rate": ratio(allocated, units),
    }
    columns = (
        "day",
        "lines",
        "lines_filled",
        "units",
        "units_allocated",
        "line_fill_rate",
        "unit_fill_rate",
    )
    chart = [(row[0][5:], percent(row[6])) for row in rows]
    return Report("fill-rate", days, start, end, summary, columns, rows, chart, "%")


def backorder_rate(uow: UnitOfWork, now: datetime, days: int = 30) -> Report:
    start, end = window(now, days)
    per_day: dict = defaultdict(lambda: [0, 0, 0, 0])  # lines, backordered lines, units, units
    for day, qty, _, backordered in _placed_lines(uow, start, end):
        totals = per_day[day]
        totals[0] += 1
        totals[1] += int(backordered > 0)
        totals[2] += qty
        totals[3] += backordered
    rows = [
        (day.isoformat(), *t, ratio(t[1], t[0]), ratio(t[3], t[2]))
        for day, t in sorted(per_day.items())
    ]
    lines, waited, units, owed = (sum(t[i] for t in per_day.values()) for i in range(4))
    summary = {
        "lines": lines,
        "lines_backordered": waited,
        "backorder_rate": ratio(waited, lines),
        "units": units,
        "units_backordered": owed,
        "unit_backorder_rate": ratio(owed, units),
    }
    columns = (
        "day",
        "lines",
        "lines_backordered",
        "units",
        "units_backordered",
        "backorder_rate",
        "unit_backorder_rate",
    )
    chart = [(row[0][5:], percent(row[5])) for row in rows]
    return Report("backorder-rate", days, start, end, summary, columns, rows, chart, "%")


# -- after the order: time to fulfil and promise accuracy -----------------------------------------


def _fulfilled(uow: UnitOfWork, start: datetime, end: datetime) -> list[dict]:
    with uow.reader() as r:
        return r.store.fulfilled_backorder_rows(start, end)


def time_to_fulfil(uow: UnitOfWork, now: datetime, days: int = 30) -> Report:
    start, end = window(now, days)
    rows = []
    for f in _fulfilled(uow, start, end):
        waited = (f["fulfilled_at"] - f["placed_at"]).total_seconds() / 86400
        rows.append(
            (
                f["order_id"],
                f["line_id"],
                f["sku"],
                f["placed_at"],
                f["fulfilled_at"],
                round(waited, 2),
            )
        )
    waits = [row[5] for row in rows]
    summary = {
        "lines": len(rows),
        "mean_days": round(sum(waits) / len(waits), 2) if waits else None,
        "p90_days": percentile(waits, 0.9),
    }
    buckets = Counter(age_bucket(int(w)) for w in waits)
    chart = [(label, float(buckets.get(label, 0))) for _, _, label in AGE_BUCKETS]
    columns = ("order_id", "line_id", "sku", "ordered_at", "fulfilled_at", "days")
    return Report("time-to-fulfil", days, start, end, summary, columns, rows, chart, "lines")


def promise_accuracy(uow: UnitOfWork, now: datetime, days: int = 30) -> Report:
    start, end = window(now, days)
    rows = []
    for f in _fulfilled(uow, start, end):
        if f["first_promised_date"] is None:
            continue
        day = local_date(f["fulfilled_at"], uow.shop_timezone)
        late = max(0, (day - f["first_promised_date"]).days)
        rows.append(
            (
                f["order_id"],
                f["line_id"],
                f["sku"],
                f["first_promised_date"].isoformat(),
                day.isoformat(),
                late,
                "yes" if late == 0 else "no",
            )
        )
    with uow.reader() as r:
        overdue = r.store.overdue_waiting_lines(local_date(now, uow.shop_timezone))
    on_time = sum(1 for row in rows if row[5] == 0)
    late_days = [row[5] for row in rows if row[5]]
    summary = {
        "lines": len(rows),
        "on_time": on_time,
        "accuracy": ratio(on_time, len(rows)),
        "mean_days_late": round(sum(late_days) / len(late_days), 2) if late_days else None,
        "still_waiting_past_first_promise": overdue,
    }
    spans = (("on time", 0, 0), ("1-3 late", 1, 3), ("4-7 late", 4, 7), ("8+ late", 8, None))
    chart = [
        (label, float(sum(1 for row in rows if _within(row[5], lo, hi)))) for label, lo, hi in spans
    ]
    columns = (
        "order_id",
        "line_id",
        "sku",
        "first_promised_date",
        "allocated_on",
        "days_late",
        "on_time",
    )
    return Report("promise-accuracy", days, start, end, summary, columns, rows, chart, "lines")


# -- cancellations, suppliers, feedback, ageing ---------------------------------------------


def cancellations(uow: UnitOfWork, now: datetime, days: int = 30) -> Report:
    start, end = window(now, days)
    with uow.reader() as r:
        events = r.store.events_between(("line_cancelled", "order_cancelled"), start, end)
    rows = []
    for e in events:
        reason = str(e.payload.get("reason") or "requested")
        for line in e.payload.get("lines", ()):
            waiting = line.get("cancelled", 0) - line.get("released", 0)
            if waiting > 0:
                cause = WAITING_REASONS.get(reason, "other")
                rows.append(
                    (
                        e.created_at,
                        e.order_id,
                        line.get("line_id"),
                        line.get("sku"),
                        reason,
                        cause,
                        waiting,
                    )
                )
    by_cause = Counter(row[5] for row in rows)
    caused = [row for row in rows if row[5] != "other"]
    summary = {
        "lines": len(rows),
        "units": sum(row[6] for row in rows),
        "caused_by_waiting": len(caused),
        "caused_by_waiting_units": sum(row[6] for row in caused),
        "by_cause": dict(sorted(by_cause.items())),
    }
    labels = ("max_wait", "delay_declined", "customer", "other")
    chart = [(label, float(by_cause.get(label, 0))) for label in labels]
    columns = ("cancelled_at", "order_id", "line_id", "sku", "reason", "cause", "waiting_units")
    return Report("cancellations", days, start, end, summary, columns, rows, chart, "lines")


def supplier_on_time(uow: UnitOfWork, now: datetime, days: int = 90) -> Report:
    start, end = window(now, days)
    first, last = local_date(start, uow.shop_timezone), local_date(now, uow.shop_timezone)
    rows = []
    with uow.reader() as r:
        for supplier in r.store.list_suppliers():
            done = [
                x
                for x in r.store.supplier_history(supplier.id)
                if x.open_qty == 0 and first <= x.last_received_date <= last
            ]
            lateness = [max(0, (x.last_received_date - x.first_expected_date).days) for x in done]
            on_time = sum(1 for d in lateness if d == 0)
            mean = round(sum(lateness) / len(lateness), 2) if lateness else None
            rows.append(
                (supplier.id, supplier.name, len(done), on_time, ratio(on_time, len(done)), mean)
            )
    lines, on_time = sum(row[2] for row in rows), sum(row[3] for row in rows)
    summary = {
        "suppliers": len(rows),
        "lines_received": lines,
        "on_time": on_time,
        "on_time_rate": ratio(on_time, lines),
    }
    chart = [(row[1][:18], percent(row[4])) for row in rows if row[2]]
    columns = (
        "supplier_id",
        "supplier",
        "lines_received",
        "on_time",
        "on_time_rate",
        "mean_days_late",
    )
    return Report("supplier-on-time", days, start, end, summary, columns, rows, chart, "%")


def feedback_by_wait(uow: UnitOfWork, now: datetime, days: int = 90) -> Report:
    start, end = window(now, days)
    with uow.reader() as r:
        has_feedback = r.store.has_table("feedback")
        answered = r.store.answered_feedback() if has_feedback else []
    answered = [f for f in answered if start <= f.answered_at < end]
    ratings: dict[str, list[int]] = defaultdict(list)
    for f in answered:
        ratings[age_bucket(f.waiting_days)].append(f.rating)
    rows = [(label, len(ratings[label]), _mean(ratings[label])) for _, _, label in AGE_BUCKETS]
    summary = {"answers": len(answered), "mean_rating": _mean([f.rating for f in answered])}
    chart = [(row[0], float(row[2] or 0)) for row in rows]
    notes = () if has_feedback else ("feedback is not collected on this installation",)
    columns = ("waited_days", "answers", "mean_rating")
    return Report(
        "feedback-by-wait", days, start, end, summary, columns, rows, chart, "rating", notes
    )


def ageing(uow: UnitOfWork, now: datetime, days: int = 30) -> Report:
    """Open backorder lines by how long they have waited (`days` is not used: all open)."""
    with uow.reader() as r:
        waiting = r.store.waiting_line_rows()
    counts: dict[str, list[int]] = {label: [0, 0] for _, _, label in AGE_BUCKETS}
    for line in waiting:
        bucket = counts[age_bucket((now - line["placed_at"]).days)]
        bucket[0] += 1
        bucket[1] += line["backordered"]
    rows = [(label, lines, units) for label, (lines, units) in counts.items()]
    summary = {"lines": len(waiting), "units": sum(line["backordered"] for line in waiting)}
    chart = [(label, float(lines)) for label, lines, _ in rows]
    return Report(
        "ageing", days, now, now, summary, ("waited_days", "lines", "units"), rows, chart, "lines"
    )


def age_bucket(days: int) -> str:
    return next(label for lo, hi, label in AGE_BUCKETS if _within(days, lo, hi))


def _within(value: int, lo: int, hi: int | None) -> bool:
    return value >= lo and (hi is None or value <= hi)


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


REPORTS: dict[str, Callable[[UnitOfWork, datetime, int], Report]] = {
    "fill-rate": fill_rate,
    "backorder-rate": backorder_rate,
    "time-to-fulfil": time_to_fulfil,
    "promise-accuracy": promise_accuracy,
    "cancellations": cancellations,
    "supplier-on-time": supplier_on_time,
    "feedback-by-wait": feedback_by_wait,
    "ageing": ageing,
}
