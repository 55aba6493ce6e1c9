"""Who may do what: staff roles ranked from reading to administering, and customers."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"  # reads everything
    INTEGRATION = "integration"  # a shop or ERP: places orders, receives stock, imports
    OPERATOR = "operator"  # a person running operations: cancels, ships, adjusts, overrides
    ADMIN = "admin"  # keys, warehouses, everything
    CUSTOMER = "customer"  # one customer's own orders, nothing else


RANK = {Role.VIEWER: 0, Role.INTEGRATION: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


def allows(held: Role, needed: Role, *, customers: bool = False) -> bool:
    """A staff role allows what a lower rank may do; a customer key only the endpoints that
    say `customers`, and then only for that customer's own orders (checked by the route)."""
    if held is Role.CUSTOMER:
        return customers
    return RANK[held] >= RANK[needed]
