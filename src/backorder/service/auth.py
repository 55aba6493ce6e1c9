"""API keys: made once and shown once, kept only as a hash, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from ..domain.errors import InvalidInput, NotFound
from ..domain.roles import Role
from . import validation as v
from .ports import UnitOfWork
from .runner import retried

KEY_PREFIX = "bo_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name and role, and for a customer key, whose orders."""

    key_id: int | None
    name: str
    role: Role
    customer_id: int | None = None


def hash_key(key: str) -> str:
    # Keys are 256 random bits, so a fast hash is enough: nobody can guess their way back.
    return hashlib.sha256(key.encode()).hexdigest()


@retried
def create_key(
    uow: UnitOfWork, name: str, role: Role, now: datetime, customer_id: int | None = None
) -> tuple[str, dict]:
    """Return (the key, its record); the key itself is never stored or shown again."""
    v.text(name, "name", 100)
    role = v.choice(role, "role", Role)
    if (role is Role.CUSTOMER) != (customer_id is not None):
        raise InvalidInput("customer_id", "a customer key needs a customer id, other keys none")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with uow:
        if customer_id is not None and uow.store.get_customer(customer_id) is None:
            raise NotFound(f"unknown customer {customer_id}", field="customer_id")
        record = {
            "name": name,
            "prefix": key[:10],
            "key_hash": hash_key(key),
            "role": role.value,
            "customer_id": customer_id,
            "created_at": now,
        }
        record["id"] = uow.store.insert_api_key(record)
        uow.commit()
    return key, {k: val for k, val in record.items() if k != "key_hash"}


def authenticate(uow: UnitOfWork, key: str) -> Principal | None:
    """The principal of a live key, or None for an unknown or revoked one."""
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    with uow.reader() as r:
        row = r.store.find_api_key(hash_key(key))
    if row is None or row["revoked_at"] is not None:
        return None
    return Principal(row["id"], row["name"], Role(row["role"]), row["customer_id"])


@retried
def revoke_key(uow: UnitOfWork, key_id: int, now: datetime) -> dict:
    with uow:
        row = uow.store.get_api_key(key_id)
        if row is None:
            raise NotFound(f"unknown API key {key_id}", field="key_id")
        if row["revoked_at"] is None:
            uow.store.revoke_api_key(key_id, now)
        uow.commit()
        return uow.store.get_api_key(key_id)


def list_keys(uow: UnitOfWork) -> list[dict]:
    with uow.reader() as r:
        return r.store.list_api_keys()
