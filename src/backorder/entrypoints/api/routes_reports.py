"""Reports as JSON (issue 5): the same numbers the web app charts, for any window of days."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...domain.roles import Role
from ...service import reports
from .. import serialize
from .auth import role
from .deps import BackendDep
from .routes import ERRORS

router = APIRouter(responses=ERRORS)
Days = Annotated[int, Query(ge=1, le=3660, description="The window: the last N days.")]


def _endpoint(name: str):
    def report(backend: BackendDep, days: Days = 30) -> dict:
        return serialize.plain(reports.REPORTS[name](backend.uow, backend.clock(), days).as_dict())

    report.__name__ = f"report_{name.replace('-', '_')}"
    report.__doc__ = (reports.REPORTS[name].__doc__ or f"The {name} report.").split("\n")[0]
    return report


for _name in reports.REPORTS:
    router.add_api_route(
        f"/reports/{_name}",
        _endpoint(_name),
        methods=["GET"],
        tags=["reports"],
        **role(Role.VIEWER),
    )
