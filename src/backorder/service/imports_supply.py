"""Apply imported suppliers and purchase orders, one row (or one order) per transaction.

The companions of `service.imports` for a platform's purchasing files (PrestaShop's suppliers,
supply orders and their lines). They run `purchasing.create_supplier` and
`purchasing.create_purchase_order` inside the row's transaction, so their rules (validation,
idempotency by name and by reference, promises recomputed) stay in one place.

Choices:
- A supplier is found by name; a re-import never edits it (the file carries no lead time or
  currency: those are what the import was given). Its platform id is remembered as an external
  key so supply orders can name it.
- A purchase order comes from two files: the header (supplier, warehouse, delivery date) is
  remembered under its external key; the lines name it, and the order is created when they are
  imported, all its lines at once: a line naming an unknown product refuses the whole order,
  every such line reported. A re-import finds the order by its reference and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..domain.errors import InvalidInput, NotFound
from . import catalog, purchasing
from . import validation as v
from .imports import Outcome, _JoinedUnitOfWork, outcome_of, recall, remember
from .ports import Store, UnitOfWork
from .purchasing import PoLineIn, SupplierIn
from .runner import retried


@dataclass(frozen=True)
class SupplierRowIn:
    supplier: SupplierIn
    external_key: str | None = None  # e.g. "prestashop:supplier:1"


@dataclass(frozen=True)
class SupplyOrderHeaderIn:
    """A purchase order's header, kept until its lines are imported."""

    external_key: str  # e.g. "prestashop:supply-order:Ref Apple 01"
    supplier_key: str  # the supplier's external key
    supplier_label: str  # how the file names the supplier, for errors: "supplier ID 3"
    warehouse: str
    warehouse_name: str  # used when the warehouse is new
    expected_date: date


@dataclass(frozen=True)
class ImportedPoLine:
    qty: int
    unit_cost_minor: int
    sku: str | None = None  # the product by SKU, or else:
    product_key: str | None = None  # by external key ("prestashop:combination:17")
    product_label: str = ""  # how the file names the product, for errors
    parent_key: str | None = None  # a variant's key must belong to this parent


@dataclass(frozen=True)
class PurchaseOrderImportIn:
    reference: str  # the purchase order's reference: "prestashop:Ref Apple 01"
    header_key: str  # where its header was remembered
    header_label: str  # how the file names the header, for errors
    lines: tuple[ImportedPoLine, ...]


@retried
def import_supplier(uow: UnitOfWork, row: SupplierRowIn, now: datetime) -> Outcome:
    """Create a supplier once (found by name) and remember the platform's id for it."""
    with uow:
        store = uow.store
        existing = store.find_supplier(row.supplier.name)
        supplier = purchasing.create_supplier(_JoinedUnitOfWork(uow), row.supplier, now)
        changed = bool(row.external_key) and remember(
            store, row.external_key, {"supplier_id": supplier.id}, now
        )
        uow.commit()
    return outcome_of(existing is None, changed)


@retried
def import_supply_order_header(uow: UnitOfWork, row: SupplyOrderHeaderIn, now: datetime) -> Outcome:
    """Remember a purchase order's header (its supplier must be known); creates its warehouse."""
    v.day(row.expected_date, "expected_date")  # refused on its own row, not on every line's
    with uow:
        store = uow.store
        supplier = recall(store, row.supplier_key)
        if supplier is None:
            raise NotFound(
                f"unknown {row.supplier_label}: import the suppliers first", field="supplier"
            )
        if store.get_warehouse(row.warehouse) is None:
            catalog.save_warehouse(_JoinedUnitOfWork(uow), row.warehouse, row.warehouse_name)
        header = {
            "supplier_id": supplier["supplier_id"],
            "warehouse": row.warehouse,
            "expected_date": row.expected_date.isoformat(),
        }
        is_new = recall(store, row.external_key) is None
        changed = remember(store, row.external_key, header, now)
        uow.commit()
    return outcome_of(is_new, changed)


@retried
def import_purchase_order(uow: UnitOfWork, order: PurchaseOrderImportIn, now: datetime) -> Outcome:
    """Create a purchase order from its remembered header and these lines, once."""
    with uow:
        store = uow.store
        if store.find_po_id(order.reference) is not None:
            return Outcome.UNCHANGED
        header = recall(store, order.header_key)
        if header is None:
            raise _unknown_header(order)
        expected = date.fromisoformat(header["expected_date"])
        skus = _skus(store, order.lines)
        lines = [
            PoLineIn(sku, line.qty, expected, line.unit_cost_minor)
            for sku, line in zip(skus, order.lines, strict=True)
        ]
        purchasing.create_purchase_order(
            _JoinedUnitOfWork(uow),
            header["supplier_id"],
            lines,
            now,
            warehouse=header["warehouse"],
            reference=order.reference,
        )
        uow.commit()
    return Outcome.CREATED


def _unknown_header(order: PurchaseOrderImportIn) -> NotFound:
    """Every line is refused: each names the header nobody imported."""
    reason = f"unknown {order.header_label}: import the supply orders first"
    problems = [{"field": f"lines[{i}].header", "reason": reason} for i in range(len(order.lines))]
    return NotFound(reason, field="header", problems=problems)


class UnknownProducts(InvalidInput):
    """Every line whose product is unknown, at once (the first in `field`)."""

    def __init__(self, problems: list[dict]) -> None:
        super().__init__(problems[0]["field"], problems[0]["reason"])
        self.details["problems"] = problems


def _skus(store: Store, lines: tuple[ImportedPoLine, ...]) -> list[str]:
    """Each line's SKU; UnknownProducts naming every line that has none."""
    skus, problems = [], []
    for index, line in enumerate(lines):
        sku, reason = _sku_of(store, line)
        skus.append(sku)
        if reason:
            problems.append({"field": f"lines[{index}].sku", "reason": reason})
    if problems:
        raise UnknownProducts(problems)
    return skus


def _sku_of(store: Store, line: ImportedPoLine) -> tuple[str, str | None]:
    """(SKU, None), or ("", why not)."""
    if line.sku is not None:
        known = store.get_product(line.sku) is not None
        return (line.sku, None) if known else ("", f"unknown SKU {line.sku!r}")
    found = recall(store, line.product_key) if line.product_key else None
    if found is None or store.get_product(found["sku"]) is None:
        return "", f"unknown product {line.product_label}: import it first"
    if line.parent_key and found.get("parent_key") not in (None, line.parent_key):
        return "", f"{line.product_label} belongs to another product"
    return found["sku"], None
