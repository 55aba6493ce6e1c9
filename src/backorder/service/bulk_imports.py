"""Product rows by the batch: one transaction for many rows, the outcome of one each.

Why: `imports.import_product` runs about 17 statements and a commit per row (~130 rows/s on
SQLite with synchronous=FULL); a catalog of a million rows would take two hours.

How: `import_products` takes a batch of rows. In one transaction it reads what the batch
needs (its products, their stock rows, which SKUs have waiting lines) in a few statements,
decides each row in Python as `import_product` would (the same merge and validation, a count
as a ledger row plus an on_hand change, the same outcome), and writes it all with a few
`executemany` statements. Rows whose effects reach beyond their own product and stock row go
through `import_product` itself, a transaction each, after the batch commits: a negative
count (owed units place an order), a SKU with waiting lines (a count may hand units to them
and move their promised dates), a count below what orders hold (refused there), an unknown
warehouse, an external key; and every later row of such a SKU in the batch, so that one
SKU's rows still apply in file order. Rows of different SKUs touch different rows, so their
order between them does not matter (ledger ids then follow the batch, not the file).

A batch the database refuses as a whole (it should not: every check is made first) is rolled
back and its rows go one by one through `import_product`: one bad row never blocks the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..domain.errors import DomainError
from ..domain.model import Product, StockLevel
from . import catalog, imports
from .imports import Outcome, ProductRowIn
from .ports import Store, UnitOfWork
from .runner import retried

BATCH = 1000  # rows per transaction: big enough to pay for the commit, small enough to retry

Result = Outcome | Exception  # per row: what it did, or why it was refused


def import_products(uow: UnitOfWork, rows: Sequence[ProductRowIn], now: datetime) -> list[Result]:
    """Import a batch of product rows; per row its outcome or the error that refused it."""
    try:
        decided = _apply_batch(uow, rows, now)
    except Exception:  # noqa: BLE001 - refused as a whole: every row on its own instead
        decided = [None] * len(rows)
    return [
        _one(uow, row, now) if result is None else result
        for row, result in zip(rows, decided, strict=True)
    ]


def _one(uow: UnitOfWork, row: ProductRowIn, now: datetime) -> Result:
    try:
        return imports.import_product(uow, row, now)
    except Exception as error:  # noqa: BLE001 - reported on its row; the other rows go on
        return error


@dataclass
class _Batch:
    """What one batch transaction has read, as its rows leave it, and what it will write."""

    products: dict[str, Product]  # SKU -> product
    stock: dict[tuple[str, str], StockLevel]  # (SKU, warehouse) -> stock row
    waiting: set[str]  # SKUs with waiting lines
    warehouses: set[str]  # the batch's warehouses that exist
    slow: set[str] = field(default_factory=set)  # SKUs left to `import_product`
    new_products: dict[str, Product] = field(default_factory=dict)
    changed_products: dict[str, Product] = field(default_factory=dict)
    new_stock_rows: set[tuple[str, str]] = field(default_factory=set)  # inserted as they end
    on_hand_changes: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    ledger: list[dict] = field(default_factory=list)


@retried
def _apply_batch(
    uow: UnitOfWork, rows: Sequence[ProductRowIn], now: datetime
) -> list[Result | None]:
    """The rows this transaction settles (None: left to `import_product`)."""
    with uow:
        batch = _read(uow.store, rows)
        decided = [_decide(batch, row, now) for row in rows]
        _write(uow.store, batch, now)
        uow.commit()
    return decided


def _read(store: Store, rows: Sequence[ProductRowIn]) -> _Batch:
    skus = sorted({row.product.sku for row in rows})
    store.lock_skus(skus)
    levels = store.stock_for(skus)
    codes = {row.warehouse for row in rows}
    return _Batch(
        products=store.get_products(skus),
        stock={(s.sku, s.warehouse): s for per_sku in levels.values() for s in per_sku},
        waiting=set(store.backordered_totals(skus)),
        warehouses={code for code in codes if store.get_warehouse(code) is not None},
    )


def _decide(batch: _Batch, row: ProductRowIn, now: datetime) -> Result | None:
    """A row's outcome, its refusal, or None when it needs `import_product`."""
    sku = row.product.sku
    if not _stays_in_its_rows(batch, row):
        batch.slow.add(sku)
        return None
    existing = batch.products.get(sku)
    try:
        product = catalog.validate_product(imports.merged_product(existing, row))
    except DomainError as error:
        return error
    changed = product != existing
    if row.on_hand is not None:
        changed |= _count(batch, sku, row, now)
    _keep(batch, existing, product)
    return imports.outcome_of(existing is None, changed)


def _stays_in_its_rows(batch: _Batch, row: ProductRowIn) -> bool:
    """True when the row writes only its product, its stock row and ledger rows."""
    sku = row.product.sku
    if sku in batch.slow or sku in batch.waiting or row.external_key is not None:
        return False
    if row.on_hand is None:
        return True
    level = batch.stock.get((sku, row.warehouse))
    allocated = level.allocated if level else 0
    return row.warehouse in batch.warehouses and row.on_hand >= allocated


def _count(batch: _Batch, sku: str, row: ProductRowIn, now: datetime) -> bool:
    """Set on_hand to the counted quantity through the ledger; True when it moved."""
    key = (sku, row.warehouse)
    level = batch.stock.get(key)
    if level is None:
        batch.new_stock_rows.add(key)  # inserted with the count it ends with (`_write`)
        level = StockLevel(sku, row.warehouse, 0, 0)
    change = row.on_hand - level.on_hand
    if change:
        if key not in batch.new_stock_rows:
            batch.on_hand_changes[key] += change
        batch.ledger.append(
            {
                "sku": sku,
                "warehouse": row.warehouse,
                "delta": change,
                "on_hand_after": row.on_hand,
                "reason": "import",
                "reference": row.reference,
                "created_at": now,
            }
        )
    batch.stock[key] = StockLevel(sku, row.warehouse, row.on_hand, level.allocated)
    return change != 0


def _keep(batch: _Batch, existing: Product | None, product: Product) -> None:
    sku = product.sku
    if existing is None or sku in batch.new_products:
        batch.new_products[sku] = product  # inserted once, as the batch leaves it
    elif product != existing:
        batch.changed_products[sku] = product
    batch.products[sku] = product


def _write(store: Store, batch: _Batch, now: datetime) -> None:
    store.insert_products(list(batch.new_products.values()), now)
    store.update_products(list(batch.changed_products.values()), now)
    store.insert_stock_rows(
        [(sku, wh, batch.stock[sku, wh].on_hand) for sku, wh in sorted(batch.new_stock_rows)]
    )
    store.add_on_hand(
        [(sku, wh, delta) for (sku, wh), delta in batch.on_hand_changes.items() if delta]
    )
    store.append_ledger_rows(batch.ledger)
