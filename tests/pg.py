"""A throwaway PostgreSQL server for the tests, or the one BACKORDER_TEST_PG_URL names.

With CI=true a missing PostgreSQL is an error, never a skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import suppress

import pytest
from sqlalchemy import create_engine, text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _as_postgres_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


class PgServer:
    """initdb + pg_ctl in a temporary folder; stopped at the end of the session."""

    def __init__(self) -> None:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not (initdb and pg_ctl):
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.pg_ctl = pg_ctl
        self.dir = tempfile.mkdtemp(prefix="backorder-pg-")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        subprocess.run(
            _as_postgres_user(
                [
                    initdb,
                    "-D",
                    self.data,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200 -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            _as_postgres_user(
                [
                    pg_ctl,
                    "-D",
                    self.data,
                    "-o",
                    options,
                    "-w",
                    "-l",
                    os.path.join(self.dir, "log"),
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with suppress(Exception):
            subprocess.run(
                _as_postgres_user([self.pg_ctl, "-D", self.data, "-m", "immediate", "stop"]),
                capture_output=True,
                timeout=30,
            )
        shutil.rmtree(self.dir, ignore_errors=True)


def admin_url_or_skip(request) -> str:
    """The admin URL of a usable PostgreSQL; skips (outside CI only) if there is none."""
    url = os.environ.get("BACKORDER_TEST_PG_URL")
    if url:
        return url
    cache = request.config
    if not hasattr(cache, "_backorder_pg"):
        try:
            server = PgServer()
        except Exception as error:  # no binaries, no postgres user, ...
            cache._backorder_pg = error
        else:
            cache._backorder_pg = server
            request.config.add_cleanup(server.stop)
    server = cache._backorder_pg
    if isinstance(server, Exception):
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"PostgreSQL is required in CI: {server}")
        pytest.skip(f"no PostgreSQL available: {server}")
    return server.url


def fresh_database(admin_url: str) -> tuple[str, callable]:
    """Create an empty database; return its URL and a function that drops it."""
    name = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name

    def drop() -> None:
        for _ in range(20):
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                break
            except Exception:
                time.sleep(0.2)
        admin.dispose()

    return url, drop
