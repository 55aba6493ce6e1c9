"""Dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from ...bootstrap import App


def backend_of(request: Request) -> App:
    return request.app.state.backend


BackendDep = Annotated[App, Depends(backend_of)]
Limit = Annotated[int, Query(ge=1, le=10_000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
