"""Backorder risk: SKUs ranked by the risk of going (further) on backorder within the lead time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...domain.roles import Role
from ...service import risk
from .. import serialize
from .auth import role
from .deps import BackendDep
from .schemas import ERRORS

router = APIRouter(responses=ERRORS)
Top = Annotated[int, Query(ge=1, le=1_000_000, description="How many SKUs, riskiest first")]


@router.get("/risk", tags=["risk"], **role(Role.VIEWER))
def ranked_risk(
    backend: BackendDep,
    top: Top = 100,
) -> list[dict]:
    """Each SKU with snapshot data: rank, score, projected balance and the parts of both."""
    return serialize.plain(risk.rank_skus(backend.uow, top))
