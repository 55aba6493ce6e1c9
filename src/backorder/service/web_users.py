"""People who log in to the operator web app: a name, a role, an argon2id password hash.

Roles are the staff roles of `domain.roles` a person can hold: viewer (reads), operator
(acts on the queue, receives, imports), admin (everything). The password itself is never
stored; a hash made with weaker parameters than today's is upgraded at the next login.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.roles import Role
from . import validation as v
from .ports import UnitOfWork
from .runner import retried

WEB_ROLES = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)
MIN_PASSWORD = 10
MAX_PASSWORD = 500  # argon2 takes any length; a cap keeps a login from being a CPU sink
_HASHER = PasswordHasher()  # argon2id with the library's RFC 9106 defaults


@dataclass(frozen=True)
class WebUser:
    id: int
    name: str
    role: Role
    created_at: datetime
    disabled: bool
    fingerprint: str  # changes with the password: a session made before a change ends

    def may(self, needed: Role) -> bool:
        from ..domain.roles import allows

        return not self.disabled and allows(self.role, needed)


def hash_password(password: str) -> str:
    _check_password(password)
    return _HASHER.hash(password)


@retried
def add_user(uow: UnitOfWork, name: str, role: Role | str, password: str, now: datetime) -> WebUser:
    name = _check_name(name)
    role = v.choice(role, "role", Role)
    if role not in WEB_ROLES:
        raise InvalidInput("role", "must be one of: viewer, operator, admin")
    password_hash = hash_password(password)
    with uow:
        if uow.store.web_user_by_name(name) is not None:
            raise Conflict(f"a user named {name!r} exists already", field="name")
        user_id = uow.store.insert_web_user(
            {"name": name, "password_hash": password_hash, "role": role.value, "created_at": now}
        )
        uow.commit()
        return _user(uow.store.web_user(user_id))


@retried
def set_password(uow: UnitOfWork, name: str, password: str) -> WebUser:
    password_hash = hash_password(password)
    with uow:
        row = uow.store.web_user_by_name(name)
        if row is None:
            raise NotFound(f"unknown user {name!r}", field="name")
        uow.store.update_web_user(row["id"], password_hash=password_hash)
        uow.commit()
        return _user(uow.store.web_user(row["id"]))


@retried
def set_disabled(uow: UnitOfWork, name: str, disabled: bool, now: datetime) -> WebUser:
    with uow:
        row = uow.store.web_user_by_name(name)
        if row is None:
            raise NotFound(f"unknown user {name!r}", field="name")
        uow.store.update_web_user(row["id"], disabled_at=now if disabled else None)
        uow.commit()
        return _user(uow.store.web_user(row["id"]))


def authenticate(uow: UnitOfWork, name: str, password: str) -> WebUser | None:
    """The user when the password is right and the account enabled; None otherwise. An unknown
    name costs the same hash as a known one, so timing does not tell which names exist."""
    if not name or not password or len(password) > MAX_PASSWORD or len(name) > 100:
        return None
    with uow.reader() as r:
        row = r.store.web_user_by_name(name.strip())
    if row is None:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(row["password_hash"], password) or row["disabled_at"] is not None:
        return None
    if _HASHER.check_needs_rehash(row["password_hash"]):
        return _rehash(uow, row["id"], password)
    return _user(row)


def get_user(uow: UnitOfWork, user_id: int) -> WebUser | None:
    with uow.reader() as r:
        row = r.store.web_user(user_id)
    return _user(row) if row else None


def list_users(uow: UnitOfWork) -> list[WebUser]:
    with uow.reader() as r:
        return [_user(row) for row in r.store.list_web_users()]


def audit_entries(uow: UnitOfWork, limit: int = 200, subject: str | None = None) -> list[dict]:
    with uow.reader() as r:
        return r.store.audit_entries(limit, subject)


# -- helpers ----------------------------------------------------------------------------------


def _check_name(name: str) -> str:
    v.text(name, "name", 100)
    name = name.strip()
    if any(ch.isspace() for ch in name) or not name.isprintable():
        raise InvalidInput("name", "one word: letters, digits and punctuation, no spaces")
    return name


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput("password", f"must be at most {MAX_PASSWORD} characters")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash("no such user; this hash only costs time")


@retried
def _rehash(uow: UnitOfWork, user_id: int, password: str) -> WebUser:
    with uow:
        uow.store.update_web_user(user_id, password_hash=_HASHER.hash(password))
        uow.commit()
        return _user(uow.store.web_user(user_id))


def _user(row: dict) -> WebUser:
    fingerprint = hashlib.sha256(row["password_hash"].encode()).hexdigest()[:16]
    return WebUser(
        row["id"],
        row["name"],
        Role(row["role"]),
        row["created_at"],
        row["disabled_at"] is not None,
        fingerprint,
    )
