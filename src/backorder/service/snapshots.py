"""Inventory snapshots with forecasts and sales history, as products, stock, backlog and POs.

One snapshot row of a SKU (the public "Product Backorders" data, say) becomes:
- a product (new: named "SKU <sku>", price 0, policy allow so owed units can wait; known: its
  name, price and policy stay), with lead time = weeks x 7 days when known (else none: the
  supplier's) and safety stock = `min_bank`;
- on hand at warehouse "main" counted as `stock.adjust_stock(count=...)` does (a ledger row,
  reason "import"): the snapshot's `national_inv`, or 0 when it is negative (never negative
  stock);
- a negative `national_inv` is units already owed: one order of the placeholder customer
  `kaggle-backlog` for them (external_ref `kaggle-backlog:<sku>`), made once; later snapshots
  leave it as it is (from then on the order is the record: edit or cancel it);
- `in_transit_qty` > 0 is a sent PO from the placeholder supplier "Kaggle in-transit", due one
  lead time after the snapshot date (`DEFAULT_LEAD_TIME_DAYS` when unknown), reference
  `kaggle-transit:<sku>:<date>`, made once. A newer snapshot's figure replaces an older one's:
  the open rest of the SKU's Kaggle POs of earlier dates is cancelled;
- the forecasts, sales history, flags and label, stored per (SKU, snapshot date).

Speed (the 10,000-row public file in about 6 s): rows are applied `BATCH_SIZE` at a time in one
transaction. SKUs new to the catalog are written in bulk: product, stock row and its ledger row
(reason "import"), which is all `save_product` and `adjust_stock(count=...)` do for a SKU that no
order waits for yet. Known SKUs go through those commands (joined to the batch's transaction, as
in `service.imports`), and so do every backlog order and PO. When one row of a batch is refused,
the batch is rolled back and its rows are applied one per transaction, so only that row is
missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, timedelta

from ..domain.errors import DomainError, InvalidInput, NotFound
from ..domain.model import BackorderPolicy, Fulfilment, Product
from ..domain.risk import DEFAULT_LEAD_TIME_DAYS
from . import catalog, orders, purchasing, stock
from . import validation as v
from .catalog import CustomerIn
from .imports import Outcome
from .imports import _JoinedUnitOfWork as JoinedUnitOfWork
from .ports import UnitOfWork
from .runner import retried

BATCH_SIZE = 200
WAREHOUSE = "main"
MAX_LEAD_TIME_WEEKS = 520
BACKLOG_CUSTOMER = CustomerIn(
    "Kaggle backlog (units owed at the snapshot)", external_id="kaggle-backlog"
)
TRANSIT_SUPPLIER = purchasing.SupplierIn("Kaggle in-transit", DEFAULT_LEAD_TIME_DAYS)


@dataclass(frozen=True)
class SkuSnapshot:
    """One SKU on one date. Field names are the file's columns; None is unknown (`NA`)."""

    sku: str
    snapshot_date: date
    national_inv: int  # on hand; below 0: units already owed
    in_transit_qty: int
    lead_time_weeks: int | None
    forecast_3_month: int
    forecast_6_month: int
    forecast_9_month: int
    sales_1_month: int
    sales_3_month: int
    sales_6_month: int
    sales_9_month: int
    min_bank: int  # safety stock
    pieces_past_due: int = 0
    local_bo_qty: int = 0
    perf_6_month_avg: float | None = None  # supplier performance, 0..1
    perf_12_month_avg: float | None = None
    potential_issue: bool = False
    deck_risk: bool = False
    oe_constraint: bool = False
    ppap_risk: bool = False
    stop_auto_buy: bool = False
    rev_stop: bool = False
    went_on_backorder: bool | None = None  # the label: for evaluation only

    @property
    def lead_time_days(self) -> int | None:
        return None if self.lead_time_weeks is None else self.lead_time_weeks * 7


QUANTITIES = (
    "in_transit_qty",
    "forecast_3_month",
    "forecast_6_month",
    "forecast_9_month",
    "sales_1_month",
    "sales_3_month",
    "sales_6_month",
    "sales_9_month",
    "min_bank",
    "pieces_past_due",
    "local_bo_qty",
)


def validate_snapshot(snapshot: SkuSnapshot) -> SkuSnapshot:
    v.sku(snapshot.sku)
    if not isinstance(snapshot.snapshot_date, date) or isinstance(snapshot.snapshot_date, datetime):
        raise InvalidInput("snapshot_date", "must be a date (YYYY-MM-DD)")
    on_hand = snapshot.national_inv
    if isinstance(on_hand, bool) or not isinstance(on_hand, int) or abs(on_hand) > v.MAX_QTY:
        raise InvalidInput("national_inv", f"must be a whole number, -{v.MAX_QTY} to {v.MAX_QTY}")
    for name in QUANTITIES:
        v.quantity(getattr(snapshot, name), name, allow_zero=True)
    if snapshot.lead_time_weeks is not None:
        v.quantity(snapshot.lead_time_weeks, "lead_time_weeks", allow_zero=True)
        if snapshot.lead_time_weeks > MAX_LEAD_TIME_WEEKS:
            raise InvalidInput("lead_time_weeks", f"must be at most {MAX_LEAD_TIME_WEEKS} weeks")
    for name in ("perf_6_month_avg", "perf_12_month_avg"):
        value = getattr(snapshot, name)
        if value is not None and not 0 <= value <= 1:
            raise InvalidInput(name, "must be a share between 0 and 1, or unknown")
    return snapshot


# -- importing ------------------------------------------------------------------------------


def import_snapshots(
    uow: UnitOfWork, snapshots: Sequence[SkuSnapshot], now: datetime
) -> list[Outcome | DomainError]:
    """Each row's outcome, or the error that refused it (see the module notes on batches)."""
    try:
        return list(import_snapshot_batch(uow, snapshots, now))
    except DomainError:
        if len(snapshots) == 1:
            raise
    return [_import_alone(uow, snapshot, now) for snapshot in snapshots]


def _import_alone(uow: UnitOfWork, snapshot: SkuSnapshot, now: datetime) -> Outcome | DomainError:
    try:
        return import_snapshot_batch(uow, [snapshot], now)[0]
    except DomainError as error:
        return error


@dataclass
class _BatchFacts:
    """What a batch reads once rather than once a row."""

    known: dict[str, Product]  # the products that exist before the batch
    on_hand: dict[str, int]  # at WAREHOUSE
    transit: dict[str, list[tuple[int, str]]]  # open Kaggle PO lines: (po_line_id, reference)
    supplier_id: int | None = None


@retried
def import_snapshot_batch(
    uow: UnitOfWork, snapshots: Sequence[SkuSnapshot], now: datetime
) -> list[Outcome]:
    """Apply snapshot rows in one transaction: all of them, or none when one is refused."""
    _validate_batch(snapshots)
    with uow:
        store = uow.store
        skus = [s.sku for s in snapshots]
        store.lock_skus(skus)
        facts = _BatchFacts(
            store.get_products(skus),
            store.on_hand_at(skus, WAREHOUSE),
            store.open_po_lines_of(skus, TRANSIT_SUPPLIER.name),
        )
        _create_skus(store, [s for s in snapshots if s.sku not in facts.known], now)
        joined = JoinedUnitOfWork(uow)
        changed = [_apply(joined, snapshot, facts, now) for snapshot in snapshots]
        stored = store.save_sku_snapshots([_stored_values(s, now) for s in snapshots])
        uow.commit()
    return [
        Outcome.CREATED
        if s.sku not in facts.known
        else Outcome.UPDATED
        if moved or s.sku in stored
        else Outcome.UNCHANGED
        for s, moved in zip(snapshots, changed, strict=True)
    ]


def _validate_batch(snapshots: Sequence[SkuSnapshot]) -> None:
    seen: set[str] = set()
    for snapshot in snapshots:
        validate_snapshot(snapshot)
        if snapshot.sku in seen:
            raise InvalidInput("sku", f"{snapshot.sku} is twice in one batch; apply one at a time")
        seen.add(snapshot.sku)


def _create_skus(store, snapshots: Sequence[SkuSnapshot], now: datetime) -> None:
    """New SKUs in bulk: the product, the stock row and its ledger row (reason "import").
    What `save_product` and `adjust_stock(count=...)` do for a SKU nothing waits for yet."""
    if not snapshots:
        return
    if store.get_warehouse(WAREHOUSE) is None:
        raise NotFound(f"unknown warehouse {WAREHOUSE!r}", field="warehouse")
    counted = [
        (catalog.validate_product(_product(None, s)), max(s.national_inv, 0), _count_reference(s))
        for s in snapshots
    ]
    store.create_counted_skus(counted, WAREHOUSE, "import", now)


def _count_reference(snapshot: SkuSnapshot) -> str:
    return f"kaggle-snapshot:{snapshot.snapshot_date.isoformat()}"


def _apply(uow: UnitOfWork, snapshot: SkuSnapshot, facts: _BatchFacts, now: datetime) -> bool:
    """True when the row changed the product, stock, backlog or purchase orders."""
    existing = facts.known.get(snapshot.sku)
    product = _product(existing, snapshot)
    changed = existing is not None and _update_known(uow, existing, product, snapshot, facts, now)
    changed |= _record_owed_units(uow, product, snapshot, now)
    changed |= _record_in_transit(uow, snapshot, facts, now)
    return changed


def _update_known(
    uow: UnitOfWork,
    existing: Product,
    product: Product,
    snapshot: SkuSnapshot,
    facts: _BatchFacts,
    now: datetime,
) -> bool:
    if product != existing:
        catalog.save_product(uow, product, now)
    count = max(snapshot.national_inv, 0)
    moved = 0
    if facts.on_hand.get(snapshot.sku) != count:
        moved = stock.adjust_stock(
            uow,
            snapshot.sku,
            WAREHOUSE,
            now,
            count=count,
            reason="import",
            reference=_count_reference(snapshot),
        )["change"]
    return product != existing or moved != 0


def _product(existing: Product | None, snapshot: SkuSnapshot) -> Product:
    if existing is None:
        return Product(
            snapshot.sku,
            f"SKU {snapshot.sku}",
            0,
            "USD",
            BackorderPolicy.ALLOW,
            lead_time_days=snapshot.lead_time_days,
            safety_stock=snapshot.min_bank,
        )
    return replace(existing, lead_time_days=snapshot.lead_time_days, safety_stock=snapshot.min_bank)


def _record_owed_units(
    uow: UnitOfWork, product: Product, snapshot: SkuSnapshot, now: datetime
) -> bool:
    """Units owed at the snapshot wait on one backlog order; whatever the policy, as the sale
    already happened (the policy is lifted inside this transaction only, as in service.imports)."""
    reference = f"kaggle-backlog:{snapshot.sku}"
    if snapshot.national_inv >= 0 or uow.store.find_order_id(reference) is not None:
        return False
    customer = catalog.create_customer(uow, BACKLOG_CUSTOMER, now)
    lenient = replace(product, backorder_policy=BackorderPolicy.ALLOW, backorder_limit=None)
    if lenient != product:
        catalog.save_product(uow, lenient, now)
    order = orders.PlaceOrder(
        customer.id,
        [orders.OrderLineIn(snapshot.sku, -snapshot.national_inv)],
        fulfilment=Fulfilment.SHIP_PARTIAL,
        external_ref=reference,
        channel="kaggle",
    )
    orders.place_order(uow, order, now)
    if lenient != product:
        catalog.save_product(uow, product, now)
    return True


def _record_in_transit(
    uow: UnitOfWork, snapshot: SkuSnapshot, facts: _BatchFacts, now: datetime
) -> bool:
    """The snapshot's open purchase quantity as one sent PO; older snapshots' POs stop counting."""
    reference = f"kaggle-transit:{snapshot.sku}:{snapshot.snapshot_date.isoformat()}"
    changed = _cancel_older_transit(uow, facts.transit.get(snapshot.sku, []), reference, now)
    if snapshot.in_transit_qty == 0 or uow.store.find_po_id(reference) is not None:
        return changed
    if facts.supplier_id is None:
        facts.supplier_id = purchasing.create_supplier(uow, TRANSIT_SUPPLIER, now).id
    lead_days = snapshot.lead_time_days
    expected = snapshot.snapshot_date + timedelta(
        days=DEFAULT_LEAD_TIME_DAYS if lead_days is None else lead_days
    )
    line = purchasing.PoLineIn(snapshot.sku, snapshot.in_transit_qty, expected)
    purchasing.create_purchase_order(
        uow, facts.supplier_id, [line], now, warehouse=WAREHOUSE, reference=reference
    )
    return True


def _cancel_older_transit(
    uow: UnitOfWork, open_lines: list[tuple[int, str]], reference: str, now: datetime
) -> bool:
    """Cancel the open rest of the SKU's Kaggle POs of earlier snapshot dates."""
    prefix = reference.rsplit(":", 1)[0] + ":"
    older = [
        line_id
        for line_id, po_reference in open_lines
        if (po_reference or "").startswith(prefix) and po_reference < reference
    ]
    for po_line_id in older:  # ISO dates in the references sort as text
        purchasing.cancel_po_line(uow, po_line_id, now)
    return bool(older)


def _stored_values(snapshot: SkuSnapshot, now: datetime) -> dict:
    return asdict(snapshot) | {"imported_at": now}


# -- reading --------------------------------------------------------------------------------

SNAPSHOT_FIELDS = tuple(f.name for f in fields(SkuSnapshot))


def latest_snapshots(uow: UnitOfWork) -> dict[str, SkuSnapshot]:
    """Each SKU's latest snapshot, by SKU."""
    with uow.reader() as r:
        rows = r.store.latest_sku_snapshots()
    return {row["sku"]: SkuSnapshot(**{k: row[k] for k in SNAPSHOT_FIELDS}) for row in rows}
