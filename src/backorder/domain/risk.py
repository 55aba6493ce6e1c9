"""How likely a SKU is to go (further) on backorder within its lead time. Pure.

The projected balance is what is left when the lead time is over, if nothing new is ordered:

    projected_balance = free stock - owed + in transit - forecast over the lead time - safety stock

- free stock: on hand minus what is allocated to orders; owed: units order lines wait for
  (a snapshot's negative on hand). Both are live figures, so receipts and shipments after the
  import move the balance.
- forecast over the lead time: `forecast_3_month` covers 3 months, about 13 weeks (91 days),
  so it is scaled by lead days / 91 and rounded up to whole units.
- unknown lead time: `DEFAULT_LEAD_TIME_DAYS`, 8 weeks, the most common and the median known
  lead time of the public "Product Backorders" data.

The score ranks SKUs, higher is riskier:

    sales above forecast = max(0, sales_3_month - forecast_3_month), scaled the same way
    shortfall = sales above forecast - projected balance   (units missing; below 0: spare)
    need      = forecast over the lead time + sales above forecast + safety stock
    score     = shortfall / (need + 1)

Why these parts: a forecast that lags what really sells is how stock runs out, so recent sales
above the forecast count as demand too; dividing by the need makes 5 units short of 6 riskier
than 5 short of 500; the +1 keeps a SKU with no need defined (its score is minus its spare
units). On the public file (10,000 SKUs) the ROC AUC against `went_on_backorder` is 0.875 for
-projected_balance alone, 0.892 divided by the need, 0.903 with sales above forecast (the
score below; tests/integration/test_kaggle_snapshot.py measures it). Units past due
(`pieces_past_due`) made it slightly worse, so they are not a part.
"""

from __future__ import annotations

from dataclasses import dataclass

FORECAST_DAYS = 91  # forecast_3_month: 3 months, about 13 weeks
DEFAULT_LEAD_TIME_DAYS = 56


@dataclass(frozen=True)
class RiskInputs:
    on_hand: int
    allocated: int  # of on_hand, promised to order lines
    owed: int  # units order lines wait for (backordered)
    in_transit: int  # open purchase-order quantity
    forecast_3_month: int
    sales_3_month: int
    safety_stock: int
    lead_time_days: int | None  # None: unknown


@dataclass(frozen=True)
class RiskAssessment:
    """The score and every number it is made of."""

    lead_time_days: int
    lead_time_assumed: bool  # True: the default, the SKU's lead time is unknown
    free_stock: int
    owed: int
    in_transit: int
    forecast_over_lead_time: int
    sales_above_forecast: int
    safety_stock: int
    projected_balance: int
    shortfall: int
    need: int
    score: float

    def explain(self) -> str:
        weeks = f"{self.lead_time_days / 7:g} weeks"
        if self.lead_time_assumed:
            weeks += " (assumed)"
        state = f"short {self.shortfall}" if self.shortfall > 0 else f"spare {-self.shortfall}"
        return (
            f"{state} of {self.need} needed over {weeks}: free {self.free_stock} - owed "
            f"{self.owed} + in transit {self.in_transit} - forecast {self.forecast_over_lead_time}"
            f" - safety {self.safety_stock} = balance {self.projected_balance}; sales above "
            f"forecast {self.sales_above_forecast}"
        )


def scaled_to_lead_time(three_month_units: int, lead_time_days: int) -> int:
    """Units of a 3-month figure falling within the lead time, rounded up to whole units."""
    return -(-three_month_units * lead_time_days // FORECAST_DAYS)


def assess(inputs: RiskInputs) -> RiskAssessment:
    assumed = inputs.lead_time_days is None
    lead_days = DEFAULT_LEAD_TIME_DAYS if assumed else inputs.lead_time_days
    forecast = scaled_to_lead_time(inputs.forecast_3_month, lead_days)
    sales_gap = max(0, inputs.sales_3_month - inputs.forecast_3_month)
    sales_above = scaled_to_lead_time(sales_gap, lead_days)
    free = inputs.on_hand - inputs.allocated
    balance = free - inputs.owed + inputs.in_transit - forecast - inputs.safety_stock
    shortfall = sales_above - balance
    need = forecast + sales_above + inputs.safety_stock
    return RiskAssessment(
        lead_days,
        assumed,
        free,
        inputs.owed,
        inputs.in_transit,
        forecast,
        sales_above,
        inputs.safety_stock,
        balance,
        shortfall,
        need,
        shortfall / (need + 1),
    )


def rank_key(sku: str, assessment: RiskAssessment) -> tuple[float, int, str]:
    """Riskiest first: higher score, then more units short, then SKU for a stable order."""
    return (-assessment.score, -assessment.shortfall, sku)
