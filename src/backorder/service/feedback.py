"""Feedback: once an order is closed (shipped in full, cancelled, or both), its customer gets
one signed, single-use link to rate the experience 1-5 with a comment.

The request is stored with the order, the days it took (placed -> the last shipment or
cancel) and how often its promised dates changed and slipped, so the report can show how
waiting affects satisfaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from ..domain.errors import InvalidInput, NotFound
from .care import FeedbackView
from .ports import UnitOfWork
from .runner import retried
from .signing import InvalidToken, TokenUsed, new_nonce, same_nonce, sign, signing_key, verify

PURPOSE = "feedback"
MAX_COMMENT = 2000
WAIT_BUCKETS = (
    (0, 7, "0-7 days"),
    (8, 14, "8-14 days"),
    (15, 30, "15-30 days"),
    (31, None, "30+ days"),
)


# -- the hook: inside the command that closed the order ------------------------------------------


def request_if_closed(store, order_id: int, now: datetime) -> None:
    """Ask for feedback once the order has nothing left to ship or wait for; once per order."""
    order = store.get_order(order_id)
    if order is None or any(line.quantities.outstanding for line in order.lines):
        return
    if store.feedback_of_order(order_id) is not None:
        return
    nonce = new_nonce()
    feedback_id = store.insert_feedback(
        {
            "order_id": order_id,
            "customer_id": order.customer_id,
            "nonce": nonce,
            "order_status": order.status,
            "requested_at": now,
            "waiting_days": max(0, (now - order.placed_at).days),
            "promise_changes": sum(line.promise_changes for line in order.lines),
            "promise_delays": store.count_order_events(order_id, "promise_delayed"),
        }
    )
    token = sign(signing_key(store, now), PURPOSE, feedback_id, nonce)
    url = store.care_policy().link(f"feedback/{token}")
    store.insert_events(
        [
            {
                "kind": "feedback_requested",
                "order_id": order_id,
                "sku": None,
                "created_at": now,
                "payload": {"order_id": order_id, "customer_id": order.customer_id, "url": url},
            }
        ]
    )


# -- the customer's answer ------------------------------------------------------------------------


def form(uow: UnitOfWork, token: str) -> dict:
    """What the link shows: the order, the question and the scale."""
    with uow.reader() as r:
        found = _verified(r.store, token)
    return {
        "order_id": found.order_id,
        "order_status": found.order_status,
        "question": "How was your experience with this order?",
        "rating_scale": [1, 2, 3, 4, 5],
        "comment_max_length": MAX_COMMENT,
        "requested_at": found.requested_at,
    }


@retried
def submit(uow: UnitOfWork, token: str, rating: int, comment: str | None, now: datetime) -> dict:
    """Store the rating; the link then refuses a second answer."""
    comment = _valid(rating, comment)
    with uow:
        store = uow.store
        found = _verified(store, token)
        if not store.answer_feedback(found.id, rating, comment, now):
            raise TokenUsed("this feedback link was already used; thank you", status="answered")
        store.insert_events(
            [
                {
                    "kind": "feedback_received",
                    "order_id": found.order_id,
                    "sku": None,
                    "created_at": now,
                    "payload": {
                        "order_id": found.order_id,
                        "customer_id": found.customer_id,
                        "rating": rating,
                        "has_comment": comment is not None,
                    },
                }
            ]
        )
        uow.commit()
    return {"order_id": found.order_id, "rating": rating, "comment": comment, "answered_at": now}


def of_order(uow: UnitOfWork, order_id: int) -> dict:
    with uow.reader() as r:
        found = r.store.feedback_of_order(order_id)
    if found is None:
        raise NotFound(f"no feedback requested for order {order_id}", field="order_id")
    return public(found)


def _verified(store, token: str) -> FeedbackView:
    claims = verify(signing_key(store), token, {PURPOSE})
    found = store.get_feedback(claims.row_id)
    if found is None or not same_nonce(claims, found.nonce):
        raise InvalidToken()
    if found.answered_at is not None:
        raise TokenUsed("this feedback link was already used; thank you", status="answered")
    return found


def _valid(rating: int, comment: str | None) -> str | None:
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput("rating", "must be a whole number from 1 to 5")
    if comment is None or not comment.strip():
        return None
    if len(comment) > MAX_COMMENT:
        raise InvalidInput("comment", f"at most {MAX_COMMENT} characters")
    return comment.strip()


# -- the report -----------------------------------------------------------------------------------


def report(uow: UnitOfWork, lowest: int = 10) -> dict:
    """Mean rating by waiting time and by promise delays, and the lowest-rated comments."""
    with uow.reader() as r:
        answered = r.store.answered_feedback()
        requested = r.store.feedback_requested_count()
    return summarize(answered, requested, lowest)


def summarize(answered: Sequence[FeedbackView], requested: int, lowest: int) -> dict:
    by_delays: dict[int, list[int]] = defaultdict(list)
    for row in answered:
        by_delays[row.promise_delays].append(row.rating)
    return {
        "requested": requested,
        "answered": len(answered),
        "mean_rating": _mean([row.rating for row in answered]),
        "by_waiting_time": [
            _group({"bucket": label}, [r.rating for r in answered if _in(r.waiting_days, lo, hi)])
            for lo, hi, label in WAIT_BUCKETS
        ],
        "by_promise_delays": [
            _group({"promise_delays": n}, by_delays[n]) for n in sorted(by_delays)
        ],
        "lowest_rated_comments": _lowest_comments(answered, lowest),
    }


def wait_bucket(days: int) -> str:
    return next(label for lo, hi, label in WAIT_BUCKETS if _in(days, lo, hi))


def _in(days: int, lo: int, hi: int | None) -> bool:
    return days >= lo and (hi is None or days <= hi)


def _group(key: dict, ratings: list[int]) -> dict:
    return key | {"answers": len(ratings), "mean_rating": _mean(ratings)}


def _mean(ratings: list[int]) -> float | None:
    return round(sum(ratings) / len(ratings), 2) if ratings else None


def _lowest_comments(answered: Sequence[FeedbackView], limit: int) -> list[dict]:
    """Comments of the lowest ratings first; among equals, the most recent first."""
    with_comment = [r for r in answered if r.comment]
    with_comment.sort(key=lambda r: (r.rating, -r.answered_at.timestamp(), -r.id))
    return [
        {
            "order_id": r.order_id,
            "rating": r.rating,
            "comment": r.comment,
            "waiting_days": r.waiting_days,
            "promise_delays": r.promise_delays,
            "answered_at": r.answered_at,
        }
        for r in with_comment[:limit]
    ]


def public(found: FeedbackView) -> dict:
    """A feedback row as shown to the team: everything but its nonce."""
    return {
        k: getattr(found, k)
        for k in (
            "order_id",
            "customer_id",
            "order_status",
            "requested_at",
            "waiting_days",
            "promise_changes",
            "promise_delays",
            "rating",
            "comment",
            "answered_at",
        )
    }
