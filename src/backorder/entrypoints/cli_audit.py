"""The audit log from the command line (issue 6): `backorder audit`."""

from __future__ import annotations

from typing import Annotated

import typer

from ..service import audit as audit_log
from .cli import app, backend, run, show


def _text(rows: list[dict]) -> str:
    if not rows:
        return "no audited actions"
    return "\n".join(
        f"{r['created_at']:%Y-%m-%d %H:%M} {r['actor']}: {r['action']} {r['subject']}"
        f" ({r['reason']}) {r['detail'] or ''}".rstrip()
        for r in rows
    )


@app.command("audit")
def audit_list(
    subject: Annotated[
        str | None, typer.Option(help='Only this subject, e.g. "order 7", "sku MUG @ main"')
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=audit_log.MAX_LIMIT)] = 50,
) -> None:
    """Operator actions, latest first: who, when, what, to which subject, why."""
    show(run(lambda: audit_log.entries(backend().uow, limit, subject)), _text)
