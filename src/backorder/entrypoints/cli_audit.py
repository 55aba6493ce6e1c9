"""The audit log from the command line (issue 6): `backorder audit`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..service import audit as audit_log
from .cli import app, backend, run, show


def _text(rows: list[dict]) -> str:
    if not rows:
        return "no audited actions"
    return "\n".join(
        f"{r['created_at']:%Y-%m-%d %H:%M} {r['actor']}: {r['action']} {r['subject']}"
        f" ({r['reason']}) {_detail(r['detail'])}".rstrip()
        for r in rows
    )


def _detail(detail) -> str:
    """The numbers as JSON, as the API shows them (not Python's repr)."""
    return json.dumps(detail, default=str, ensure_ascii=False, sort_keys=True) if detail else ""


@app.command("audit")
def audit_list(
    subject: Annotated[
        str | None, typer.Option(help='Only this subject, e.g. "order 7", "sku MUG @ main"')
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=audit_log.MAX_LIMIT)] = 50,
) -> None:
    """Operator actions, latest first: who, when, what, to which subject, why."""
    show(run(lambda: audit_log.entries(backend().uow, limit, subject)), _text)
