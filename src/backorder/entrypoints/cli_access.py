"""API keys from the command line: the first admin key has to come from somewhere."""

from __future__ import annotations

import typer

from ..domain.roles import Role
from ..service import auth
from .cli import app, backend, run, show

apikey_cli = typer.Typer(help="API keys: create (shown once), list, revoke.")
app.add_typer(apikey_cli, name="apikey")


@apikey_cli.command("create")
def apikey_create(name: str, role: Role = Role.VIEWER, customer: int | None = None) -> None:
    """Create a key and print it once; only its hash is kept."""
    key, record = run(
        lambda: auth.create_key(backend().uow, name, role, backend().clock(), customer)
    )
    show(
        record | {"key": key},
        lambda r: f"{r['key']}\n(key {r['id']}, {r['role']}: store it now, it is not shown again)",
    )


@apikey_cli.command("list")
def apikey_list() -> None:
    show(run(lambda: auth.list_keys(backend().uow)))


@apikey_cli.command("revoke")
def apikey_revoke(key_id: int) -> None:
    show(run(lambda: auth.revoke_key(backend().uow, key_id, backend().clock())))
