"""Shared fixtures: a fresh database per test (SQLite file or PostgreSQL), a fake clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backorder.bootstrap import App, build
from backorder.config import Settings
from tests.pg import admin_url_or_skip, fresh_database

# The API asks for keys by default; tests of other things call it without. The access tests
# (tests/e2e/test_api_access.py) turn it on and walk every endpoint.
os.environ.setdefault("BACKORDER_API_AUTH", "false")

SHARED = Path(__file__).resolve().parents[2] / "shared"


class FakeClock:
    """The only faked part besides outside services: time moves when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sqlite_app(tmp_path, clock) -> App:
    app = build(Settings(database_url=f"sqlite:///{tmp_path / 'test.db'}"), clock=clock)
    yield app
    app.close()


@pytest.fixture
def pg_url(request) -> str:
    url, drop = fresh_database(admin_url_or_skip(request))
    yield url
    drop()


@pytest.fixture
def pg_app(pg_url, clock) -> App:
    app = build(Settings(database_url=pg_url), clock=clock)
    yield app
    app.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_app(request, clock) -> App:
    """The same test on both databases."""
    name = "sqlite_app" if request.param == "sqlite" else "pg_app"
    return request.getfixturevalue(name)


@pytest.fixture
def app(sqlite_app) -> App:
    return sqlite_app


def shared_file(relative: str) -> Path:
    """A file of ../shared/data; skipped outside CI when the folder is absent."""
    import os

    path = SHARED / "data" / relative
    if not path.exists():
        if os.environ.get("CI") == "true":
            raise FileNotFoundError(f"{path} is required in CI")
        pytest.skip(f"{path} not present")
    return path


def run_cli(app: App, *args: str):
    """`backorder ARGS` against the app's database, in this process (typer's CliRunner)."""
    from typer.testing import CliRunner

    from backorder.entrypoints import cli

    cli.backend.cache_clear()
    try:
        return CliRunner().invoke(cli.app, ["--database-url", app.settings.database_url, *args])
    finally:
        cli.backend.cache_clear()
