"""Rank SKUs by the risk of going (further) on backorder within their lead time.

Every SKU with snapshot data is assessed by `domain.risk.assess` from its latest snapshot's
forecast and sales and its live stock, owed units, open PO quantity, safety stock and lead
time. The snapshot's `went_on_backorder` label is never read here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from ..domain.risk import RiskAssessment, RiskInputs, assess, rank_key
from . import validation as v
from .ports import UnitOfWork


@dataclass(frozen=True)
class RiskRow:
    """One ranked SKU: the score and every number it is made of."""

    rank: int
    sku: str
    score: float
    projected_balance: int
    shortfall: int
    need: int
    on_hand: int
    allocated: int
    free_stock: int
    owed: int
    in_transit: int
    forecast_over_lead_time: int
    sales_above_forecast: int
    safety_stock: int
    lead_time_days: int
    lead_time_assumed: bool
    snapshot_date: date
    explanation: str


def rank_skus(uow: UnitOfWork, top: int | None = None) -> list[RiskRow]:
    """The riskiest SKUs first; all of them, or the first `top`."""
    if top is not None:
        v.quantity(top, "top")
    with uow.reader() as r:
        rows = r.store.risk_inputs()
    assessed = sorted(
        ((row, assess(_inputs(row))) for row in rows),
        key=lambda pair: rank_key(pair[0]["sku"], pair[1]),
    )
    return [_row(rank, row, a) for rank, (row, a) in enumerate(assessed[:top], start=1)]


def _inputs(row: dict) -> RiskInputs:
    lead_time = row["lead_time_days"]
    return RiskInputs(  # int(): PostgreSQL sums come back as Decimal
        on_hand=int(row["on_hand"]),
        allocated=int(row["allocated"]),
        owed=int(row["owed"]),
        in_transit=int(row["in_transit"]),
        forecast_3_month=int(row["forecast_3_month"]),
        sales_3_month=int(row["sales_3_month"]),
        safety_stock=int(row["safety_stock"]),
        lead_time_days=None if lead_time is None else int(lead_time),
    )


def _row(rank: int, row: dict, assessment: RiskAssessment) -> RiskRow:
    return RiskRow(
        rank=rank,
        sku=row["sku"],
        on_hand=int(row["on_hand"]),
        allocated=int(row["allocated"]),
        snapshot_date=row["snapshot_date"],
        explanation=assessment.explain(),
        **asdict(assessment),
    )
