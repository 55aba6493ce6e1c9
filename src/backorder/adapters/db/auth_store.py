"""Rows of API keys (a mixin of SqlStore)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from . import tables as t

_PUBLIC = [c for c in t.api_keys.c if c.name != "key_hash"]


class AuthQueries:
    conn: Connection

    def insert_api_key(self, values: dict) -> int:
        return self.conn.execute(insert(t.api_keys).values(**values)).inserted_primary_key[0]

    def find_api_key(self, key_hash: str) -> dict | None:
        row = self.conn.execute(select(*_PUBLIC).where(t.api_keys.c.key_hash == key_hash)).first()
        return dict(row._mapping) if row else None

    def get_api_key(self, key_id: int) -> dict | None:
        row = self.conn.execute(select(*_PUBLIC).where(t.api_keys.c.id == key_id)).first()
        return dict(row._mapping) if row else None

    def list_api_keys(self) -> list[dict]:
        rows = self.conn.execute(select(*_PUBLIC).order_by(t.api_keys.c.id))
        return [dict(row._mapping) for row in rows]

    def revoke_api_key(self, key_id: int, now: datetime) -> None:
        self.conn.execute(
            update(t.api_keys).where(t.api_keys.c.id == key_id).values(revoked_at=now)
        )
