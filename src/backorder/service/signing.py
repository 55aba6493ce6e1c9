"""Signed links for customers: HMAC-SHA256 over (purpose, row id, nonce).

A token names one row (a feedback request, a delay-consent request) and the action it
stands for; the row keeps the nonce, so a token is good only for the row it was made for,
and the row's state makes it single-use. The key is BACKORDER_SECRET_KEY when set (config
refuses a short or placeholder value); otherwise a random key is generated into the
database on first use, so no fixed default ever signs a link and every process that shares
the database verifies the same links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from ..domain.errors import DomainError

KEY_NAME = "link_signing_key"


class InvalidToken(DomainError):
    """The link was altered, made for something else, or never issued here."""

    code = "invalid_token"

    def __init__(self, reason: str = "this link is not valid (altered or unknown)") -> None:
        super().__init__(reason, reason=reason)


class TokenUsed(DomainError):
    """The link was valid, but its answer is already given (or no longer wanted)."""

    code = "token_used"

    def __init__(self, message: str, **details) -> None:
        super().__init__(message, **details)


@dataclass(frozen=True)
class Claims:
    purpose: str
    row_id: int
    nonce: str


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def sign(key: bytes, purpose: str, row_id: int, nonce: str) -> str:
    message = f"{purpose}.{row_id}.{nonce}".encode()
    return f"{_b64(message)}.{_b64(_mac(key, message))}"


def verify(key: bytes, token: str, purposes: set[str]) -> Claims:
    """The claims of a well-signed token for one of `purposes`; InvalidToken otherwise."""
    body, _, mac = token.partition(".")
    try:
        message, given = _unb64(body), _unb64(mac)
    except ValueError:
        raise InvalidToken() from None
    if not hmac.compare_digest(given, _mac(key, message)):
        raise InvalidToken()
    purpose, _, rest = message.decode("ascii", "replace").partition(".")
    row_id, _, nonce = rest.partition(".")
    if purpose not in purposes or not row_id.isdigit() or not nonce:
        raise InvalidToken("this link is not meant for this page")
    return Claims(purpose, int(row_id), nonce)


def same_nonce(claims: Claims, stored: str) -> bool:
    return hmac.compare_digest(claims.nonce.encode(), stored.encode())


def signing_key(store, now: datetime | None = None) -> bytes:
    """The configured key, else the database's: generated on first use when `now` is given
    (signing), only read otherwise (verifying)."""
    configured = store.care_policy().secret_key
    if configured:
        return configured.encode()
    stored = store.get_app_secret(KEY_NAME)
    if stored is None and now is not None:
        stored = store.put_app_secret_once(KEY_NAME, secrets.token_urlsafe(48), now)
    if stored is None:  # a reader before any link was ever signed: nothing can verify
        raise InvalidToken()
    return stored.encode()


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or len(text) > 400:
        raise ValueError("bad token part")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))  # binascii.Error is a ValueError
