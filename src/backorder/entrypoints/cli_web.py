"""Web app accounts and customer links from the command line (issue 5): the first admin has
to come from somewhere, and a customer's page link has to reach the customer."""

from __future__ import annotations

from typing import Annotated

import typer

from ..domain.roles import Role
from ..service import queries, web_users
from ..service.customer_links import PAGE_PURPOSE, customer_token, derived_key
from .cli import app, backend, run, show

user_cli = typer.Typer(help="Web app users: add, list, password, disable.")
app.add_typer(user_cli, name="user")


def _password(given: str | None) -> str:
    """The given password, or one typed twice without echo."""
    if given is not None:
        return given
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _public(user: web_users.WebUser) -> dict:
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role.value,
        "created_at": user.created_at,
        "disabled": user.disabled,
    }


@user_cli.command("add")
def user_add(
    name: str,
    role: Annotated[str, typer.Option(help="viewer, operator or admin.")] = Role.VIEWER.value,
    password: Annotated[
        str | None, typer.Option(help="Prompted for (twice) when not given.")
    ] = None,
) -> None:
    """Add a person who can log in at /ui (the password is stored as an argon2 hash)."""
    secret = _password(password)
    user = run(lambda: web_users.add_user(backend().uow, name, role, secret, backend().clock()))
    show(_public(user), lambda u: f"user {u['name']} ({u['role']}) added")


@user_cli.command("list")
def user_list() -> None:
    users = [_public(u) for u in run(lambda: web_users.list_users(backend().uow))]
    show(
        users,
        lambda us: "\n".join(
            f"{u['name']:20} {u['role']:9} {'disabled' if u['disabled'] else 'active'}" for u in us
        ),
    )


@user_cli.command("password")
def user_password(
    name: str,
    password: Annotated[
        str | None, typer.Option(help="Prompted for (twice) when not given.")
    ] = None,
) -> None:
    """Set a new password; the user's open sessions end."""
    secret = _password(password)
    user = run(lambda: web_users.set_password(backend().uow, name, secret))
    show(_public(user), lambda u: f"password of {u['name']} changed")


@user_cli.command("disable")
def user_disable(name: str, enable: bool = False) -> None:
    """Stop a user from logging in (`--enable` lets them in again)."""
    user = run(lambda: web_users.set_disabled(backend().uow, name, not enable, backend().clock()))
    show(_public(user), lambda u: f"{u['name']} {'disabled' if u['disabled'] else 'enabled'}")


@app.command("customer-link")
def customer_link(customer_id: int) -> None:
    """The signed link to a customer's own page of orders (send it to that customer only)."""
    b = backend()
    customer = run(lambda: queries.customer(b.uow, customer_id))
    token = customer_token(derived_key(b.uow, PAGE_PURPOSE, b.clock()), customer.id)
    url = f"{b.settings.public_url}/my/{token}"
    show({"customer_id": customer.id, "url": url}, lambda r: r["url"])
