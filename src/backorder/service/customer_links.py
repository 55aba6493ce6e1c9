"""The customer's own page (issue 5): a link signed with HMAC-SHA256 over the customer id.

The key is the shop's link-signing key (`signing.signing_key`: BACKORDER_SECRET_KEY, or a
random key generated into the database on first use; never a fixed default). Each use gets
its own key derived from it, so a customer-page token can never pass as a session cookie or
a feedback link. The token names only the customer: the page shows that customer's orders,
and an order id of anyone else's in the address is answered with "not found".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from .ports import UnitOfWork
from .signing import InvalidToken, signing_key

PAGE_PURPOSE = b"customer-page"
SESSION_PURPOSE = b"web-session"


def derived_key(uow: UnitOfWork, purpose: bytes, now: datetime) -> bytes:
    """A key for one purpose, from the shop's signing key (made and stored on first use)."""
    with uow:
        root = signing_key(uow.store, now)
        uow.commit()
    return hmac.new(root, purpose, hashlib.sha256).digest()


def customer_token(key: bytes, customer_id: int) -> str:
    return f"{customer_id}.{_mac(key, customer_id)}"


def verify_customer_token(key: bytes, token: str) -> int:
    """The customer id a well-signed token names; InvalidToken for anything else."""
    number, _, mac = token.partition(".")
    if not number.isdigit() or len(number) > 12 or not mac or len(mac) > 100:
        raise InvalidToken()
    customer_id = int(number)
    if not hmac.compare_digest(mac.encode(), _mac(key, customer_id).encode()):
        raise InvalidToken()
    return customer_id


def _mac(key: bytes, customer_id: int) -> str:
    digest = hmac.new(key, f"customer.{customer_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
