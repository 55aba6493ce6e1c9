"""Delay consent: when a line's date slips past what the customer was promised, ask them.

The question (`delay_consent_requested`) carries the new date and two signed links, "keep
waiting" and "cancel this line", and a deadline. It is asked when the promised date moves
later than the first date promised (or than the date last asked about: a further slip asks
again and retires the open question), when a promised date is lost, and, for a line never
given a date, once `consent_undated_days` after the order. The answer is stored on the
request and written as `delay_consent_answered`; at the deadline the shop's default answers
for a customer who stayed silent, unless the line no longer waits or is no longer late.
"Cancel this line" goes through orders.cancel_line.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from .care import ConsentView
from .ports import UnitOfWork
from .runner import retried
from .signing import InvalidToken, TokenUsed, new_nonce, same_nonce, sign, signing_key, verify

KEEP, CANCEL = "consent-keep", "consent-cancel"
ANSWERS = {KEEP: "keep_waiting", CANCEL: "cancel_line"}
CANCEL_REASONS = {"customer": "delay_declined", "deadline": "delay_consent_deadline"}


def reference_date(first_promised: date | None, latest: ConsentView | None) -> date | None:
    """The date a slip is measured against: the first promise, or a later date already asked."""
    dates = [d for d in (first_promised, latest.promised_date if latest else None) if d]
    return max(dates) if dates else None


def slipped_past(promised: date | None, reference: date | None) -> bool:
    """Later than the reference; no date at all counts as later than any date."""
    if reference is None:
        return False
    return promised is None or promised > reference


# -- the hook in promising.repromise (inside the command that moved the date) -------------------


def ask_on_delays(store, events: list[dict], now: datetime) -> list[dict]:
    """Ask about every `promise_delayed` line now later than it was promised or last asked;
    returns the events to write with the promise events. One PO slip can delay thousands of
    lines: the questions are written in bulk and the signing key is read once."""
    delayed = [e["payload"] for e in events if e["kind"] == "promise_delayed"]
    if not delayed:
        return []
    latest = store.latest_consents([p["line_id"] for p in delayed])
    slipped = []
    for payload in delayed:
        previous = latest.get(payload["line_id"])
        reference = reference_date(payload["first_promised_date"], previous)
        if slipped_past(payload["promised_date"], reference):
            slipped.append((payload, reference, previous))
    return _ask_all(store, slipped, now)


def _ask_all(store, slipped: list[tuple], now: datetime) -> list[dict]:
    """Ask about each (line, reference date, previous request) in one insert; the events."""
    if not slipped:
        return []
    # retire the open questions: their links now point to the new ones
    store.close_consents([prev.id for _, _, prev in slipped if prev is not None], "superseded", now)
    policy = store.care_policy()
    deadline = now + timedelta(days=policy.consent_deadline_days)
    requests = [_request(line, reference, deadline, now) for line, reference, _ in slipped]
    ids = store.insert_consents(requests)
    key = signing_key(store, now)
    return [
        _question(line, request, consent_id, key, policy, now)
        for (line, _, _), request, consent_id in zip(slipped, requests, ids, strict=True)
    ]


def _request(line: dict, reference: date | None, deadline: datetime, now: datetime) -> dict:
    return {
        "order_id": line["order_id"],
        "line_id": line["line_id"],
        "sku": line["sku"],
        "first_promised_date": line["first_promised_date"],
        "reference_date": reference,
        "promised_date": line["promised_date"],
        "status": "open",
        "nonce": new_nonce(),
        "created_at": now,
        "deadline": deadline,
    }


def _question(line: dict, request: dict, consent_id: int, key: bytes, policy, now) -> dict:
    nonce = request["nonce"]
    return _event(
        "delay_consent_requested",
        line,
        now,
        {
            "first_promised_date": line["first_promised_date"],
            "promised_date": line["promised_date"],
            "consent_id": consent_id,
            "keep_url": policy.link(f"consent/{sign(key, KEEP, consent_id, nonce)}"),
            "cancel_url": policy.link(f"consent/{sign(key, CANCEL, consent_id, nonce)}"),
            "deadline": request["deadline"].isoformat(),
        },
    )


# -- the customer's answer ------------------------------------------------------------------------


def show(uow: UnitOfWork, token: str, now: datetime) -> dict:
    """What a link stands for (GET): the line, the dates, the action, the deadline."""
    with uow.reader() as r:
        consent, purpose = _verified(r.store, token)
    _require_open(consent, now)
    return public(consent) | {"action": ANSWERS[purpose]}


def answer(uow: UnitOfWork, token: str, now: datetime) -> dict:
    """Record the answer a link stands for (POST); "cancel this line" cancels it."""
    consent, choice = _record_answer(uow, token, now)
    if choice == "cancel_line":
        _cancel_line(uow, consent, "customer", now)
    return public(consent) | {
        "status": "answered",
        "answer": choice,
        "answered_by": "customer",
        "answered_at": now.isoformat(),
    }


def for_order(uow: UnitOfWork, order_id: int) -> list[dict]:
    with uow.reader() as r:
        return [public(c) for c in r.store.consents_of_order(order_id)]


@retried
def _record_answer(uow: UnitOfWork, token: str, now: datetime) -> tuple[ConsentView, str]:
    with uow:
        store = uow.store
        consent, purpose = _verified(store, token)
        _require_open(consent, now)
        choice = ANSWERS[purpose]
        if not store.close_consent(consent.id, "answered", now, choice, "customer"):
            _require_open(store.get_consent(consent.id), now)  # answered meanwhile: say how
        store.insert_events([_answered_event(consent, choice, "customer", now)])
        uow.commit()
        return consent, choice


def _verified(store, token: str) -> tuple[ConsentView, str]:
    claims = verify(signing_key(store), token, set(ANSWERS))
    consent = store.get_consent(claims.row_id)
    if consent is None or not same_nonce(claims, consent.nonce):
        raise InvalidToken()
    return consent, claims.purpose


def _require_open(consent: ConsentView, now: datetime) -> None:
    if consent.status == "answered":
        by = "you" if consent.answered_by == "customer" else "the shop, when the deadline passed"
        raise TokenUsed(
            f"this question was already answered ({consent.answer}, by {by})",
            status=consent.status,
            answer=consent.answer,
        )
    if consent.status == "superseded":
        raise TokenUsed(
            "the date moved again since; please use the links of the latest message",
            status=consent.status,
        )
    if consent.status == "moot":
        raise TokenUsed(
            "this question no longer applies: the line is no longer late", status=consent.status
        )
    if now > consent.deadline:
        raise TokenUsed(
            "the deadline for this answer has passed",
            status="deadline_passed",
            deadline=consent.deadline.isoformat(),
        )


# -- jobs -----------------------------------------------------------------------------------------


def run(uow: UnitOfWork, now: datetime) -> dict[str, int]:
    asked = ask_undated(uow, now)
    decided = decide_at_deadline(uow, now)
    cancelled = 0
    with uow.reader() as r:
        declined = r.store.declined_lines_still_open()
    for consent in declined:  # also finishes a customer's cancel cut short by a crash
        _cancel_line(uow, consent, consent.answered_by, now)
        cancelled += 1
    return {
        "consents_requested": asked,
        "consents_decided_at_deadline": decided,
        "consent_cancels": cancelled,
    }


@retried
def ask_undated(uow: UnitOfWork, now: datetime) -> int:
    """Lines never given a date, waiting `consent_undated_days` since the order: ask once."""
    from .promising import local_date  # promising calls this module: import when needed

    with uow:
        store = uow.store
        days = store.care_policy().consent_undated_days
        if days is None:
            return 0
        waited = timedelta(days=days)
        rows = store.undated_lines_waiting_since(now - waited)
        store.lock_skus({row.sku for row in rows})
        slipped = [
            (
                {
                    "order_id": row.order_id,
                    "line_id": row.line_id,
                    "sku": row.sku,
                    "first_promised_date": None,
                    "promised_date": None,
                },
                local_date(row.placed_at + waited, uow.shop_timezone),
                None,
            )
            for row in rows
        ]
        events = _ask_all(store, slipped, now)
        store.insert_events(events)
        uow.commit()
        return len(events)


@retried
def decide_at_deadline(uow: UnitOfWork, now: datetime) -> int:
    """Silence by the deadline: the shop's default answers, if the line still waits late."""
    with uow:
        store = uow.store
        due = store.due_consents(now)
        store.lock_skus({c.sku for c in due})
        default = store.care_policy().consent_default
        events = []
        for consent in due:
            if _still_waits_late(store, consent):
                store.close_consent(consent.id, "answered", now, default, "deadline")
                events.append(_answered_event(consent, default, "deadline", now))
            elif store.close_consent(consent.id, "moot", now):
                events.append(
                    _event(
                        "delay_consent_withdrawn",
                        _facts(consent),
                        now,
                        {"consent_id": consent.id, "reason": "the line no longer waits late"},
                    )
                )
        store.insert_events(events)
        uow.commit()
        return len(due)


# -- helpers --------------------------------------------------------------------------------------


def _cancel_line(uow: UnitOfWork, consent: ConsentView, answered_by: str | None, now) -> None:
    from . import orders  # orders -> promising -> this module: import when needed

    reason = CANCEL_REASONS.get(answered_by or "customer", "delay_declined")
    orders.cancel_line(uow, consent.order_id, consent.line_id, now, reason=reason)


def _still_waits_late(store, consent: ConsentView) -> bool:
    order = store.get_order(consent.order_id)
    line = next((x for x in order.lines if x.id == consent.line_id), None) if order else None
    if line is None or not line.backordered:
        return False
    return slipped_past(line.promised_date, consent.reference_date)


def _answered_event(consent: ConsentView, choice: str, by: str, now: datetime) -> dict:
    return _event(
        "delay_consent_answered",
        _facts(consent),
        now,
        {
            "consent_id": consent.id,
            "answer": choice,
            "answered_by": by,
            "promised_date": consent.promised_date,
        },
    )


def _facts(consent: ConsentView) -> dict:
    return {"order_id": consent.order_id, "line_id": consent.line_id, "sku": consent.sku}


def _event(kind: str, line: dict, now: datetime, extra: dict) -> dict:
    facts = {"order_id": line["order_id"], "line_id": line["line_id"], "sku": line["sku"]}
    return {
        "kind": kind,
        "order_id": line["order_id"],
        "sku": line["sku"],
        "created_at": now,
        "payload": facts | extra,
    }


def public(consent: ConsentView) -> dict:
    """A request as shown to people: everything but its nonce."""
    return {
        "id": consent.id,
        "order_id": consent.order_id,
        "line_id": consent.line_id,
        "sku": consent.sku,
        "first_promised_date": consent.first_promised_date,
        "reference_date": consent.reference_date,
        "promised_date": consent.promised_date,
        "status": consent.status,
        "answer": consent.answer,
        "answered_by": consent.answered_by,
        "created_at": consent.created_at,
        "deadline": consent.deadline,
        "answered_at": consent.answered_at,
    }
