"""Views to plain JSON-able dicts, with the derived fields people look for."""

from __future__ import annotations

from dataclasses import asdict, fields, is_dataclass
from datetime import date, datetime
from enum import Enum

from ..domain.model import Product
from ..service.views import LineView, OrderView, PoLineView, StockView


def plain(value):
    """Recursively turn dataclasses, enums and datetimes into JSON-able values."""
    if isinstance(value, OrderView):
        return order(value)
    if isinstance(value, StockView):
        return dict(asdict(value), available=value.available)
    if isinstance(value, Product):
        return product(value)
    if isinstance(value, PoLineView):
        return dict({k: plain(v) for k, v in asdict(value).items()}, open_qty=value.open_qty)
    if is_dataclass(value):  # field by field, so nested views go through plain() too
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def product(value: Product) -> dict:
    return {
        "sku": value.sku,
        "name": value.name,
        "price_minor": value.price_minor,
        "currency": value.currency,
        "backorder_policy": value.backorder_policy.value,
        "backorder_limit": value.backorder_limit,
        "release_at": value.release_at.isoformat() if value.release_at else None,
        "lead_time_days": value.lead_time_days,
        "safety_stock": value.safety_stock,
    }


def line(value: LineView) -> dict:
    data = {k: plain(v) for k, v in asdict(value).items() if k != "holdings"}
    data["state"] = value.state
    data["holdings"] = [{"warehouse": w, "qty": q} for w, q in value.holdings]
    return data


def order(value: OrderView) -> dict:
    data = {k: plain(v) for k, v in asdict(value).items() if k != "lines"}
    data["status"] = value.status
    data["lines"] = [line(x) for x in value.lines]
    return data
