"""Apply imported rows through the ordinary commands, one row (or one order) per transaction.

Each function here is one command: it opens one transaction and runs the ordinary commands
(`catalog.save_product`, `stock.adjust_stock`, `orders.place_order`, ...) inside it through
`_JoinedUnitOfWork`, then commits once. A row the commands refuse therefore leaves none of
its writes behind (a product saved but its stock count refused is rolled back with it), and
the rules of those commands (validation, locks, ledger, allocation, events) stay in one place.

Choices:
- A re-imported product keeps what the file does not carry (backorder limit, release time);
  a row that carries a limit (`sets_limit`, Magento's threshold) replaces ours, "none" included.
  A policy given only as deny or allow (`coarse_policy`: Shopify's deny / continue) keeps our
  allow_notify when it says allow.
- A platform's own ids (PrestaShop's product, combination and supplier ids) are remembered as
  external keys (`remember`/`recall`, kept in the command-key table under the key itself, e.g.
  `prestashop:product:1` -> {"sku": "RP-demo_1"}), so a later file can name a row by that id.
- A variant (a PrestaShop combination) is its parent's product with its own SKU, name
  (`<parent name> - <value>, <value>`), price (parent's plus the impact) and stock; its parent
  is then sold only through its variants: the parent's policy becomes deny and its stock at
  the variant's warehouse 0 (PrestaShop itself counts a product with combinations as the sum of
  them), in the same transaction; it is remembered, so a later import of the products file
  updates the parent's name and price but leaves its stock and policy alone.
- A counted quantity sets on_hand through the ledger (reason "import"). A negative count is
  units already sold and owed: on_hand becomes 0 and the owed units wait on an order of the
  placeholder customer `shopify-backlog` (external_ref `shopify-backlog:<sku>@<warehouse>`,
  created once; a re-import leaves it as it is). The sale already happened, so the owed units
  are recorded whatever the backorder policy says: inside the row's transaction the product
  allows backorders while that order is placed, then gets its own policy back; no other
  transaction ever sees the switch, and later orders still obey the policy.
- An imported order that exists (same external_ref) is left as it is: a re-import never edits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from ..domain.errors import InvalidInput, NotFound
from ..domain.model import BackorderPolicy, Fulfilment, Product
from . import catalog, orders, stock
from .catalog import CustomerIn
from .ports import Store, UnitOfWork
from .runner import retried

BACKLOG_CUSTOMER = CustomerIn(
    "Shopify backlog (units sold before the import)", external_id="shopify-backlog"
)


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ProductRowIn:
    product: Product
    warehouse: str
    on_hand: int | None = None  # None: stock untouched; below 0: units owed
    reference: str | None = None  # for the ledger, e.g. "apparel.csv row 3"
    sets_limit: bool = False  # the file carries the backorder limit (None: unlimited)
    coarse_policy: bool = False  # the file says only deny or allow (Shopify): see `merged`
    external_key: str | None = None  # the platform's id for it, e.g. "prestashop:product:1"


@dataclass(frozen=True)
class VariantRowIn:
    """A variant of a product imported earlier, which `parent_key` names."""

    parent_key: str  # e.g. "prestashop:product:1"
    parent_label: str  # how the file names the parent, for errors: "product ID 1"
    sku: str | None  # None: the parent's SKU, "-", then `sku_suffix`
    sku_suffix: str
    values: tuple[str, ...]  # option values, in the name: "iPod Nano - Blue, 16GB"
    price_delta_minor: int  # added to the parent's price
    warehouse: str
    on_hand: int | None = None
    reference: str | None = None
    external_key: str | None = None  # e.g. "prestashop:combination:17"


@dataclass(frozen=True)
class StockCountIn:
    sku: str
    warehouse: str
    warehouse_name: str  # used when the warehouse is new
    count: int  # below 0: units owed
    reference: str | None = None


@dataclass(frozen=True)
class ImportedLine:
    sku: str
    name: str  # for a product created from the line
    qty: int
    unit_price_minor: int | None = None  # None: the catalog price (a created product: 0)


@dataclass(frozen=True)
class OrderImportIn:
    external_ref: str
    customer: CustomerIn  # found by external_id, else created
    currency: str
    lines: tuple[ImportedLine, ...]
    placed_at: datetime | None = None  # None: now
    create_products: bool = False  # an unknown SKU becomes a product (policy allow)
    channel: str = "shopify"


class _JoinedUnitOfWork:
    """The open transaction of one import row, lent to the ordinary commands.

    Inside it `with uow:` neither begins nor ends a transaction, `commit()` does nothing and
    `reader()` reads in the same transaction; errors go on up to the row's own transaction,
    which rolls everything back, or commits it all once. Any other attribute (settings such
    as the shop's time zone) is the outer unit of work's.
    """

    def __init__(self, outer: UnitOfWork) -> None:
        self._outer = outer
        self.store: Store = outer.store

    def __getattr__(self, name: str):
        return getattr(self._outer, name)

    def __enter__(self) -> _JoinedUnitOfWork:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        return None

    def commit(self) -> None:
        return None

    def reader(self) -> _JoinedUnitOfWork:
        return self


# -- products and stock -----------------------------------------------------------------------


@retried
def import_product(uow: UnitOfWork, row: ProductRowIn, now: datetime) -> Outcome:
    """Create or update a product and, when given, count its stock; all or nothing."""
    with uow:
        uow.store.lock_skus([row.product.sku])
        outcome = _save_row(_JoinedUnitOfWork(uow), row, now)
        uow.commit()
    return outcome


def _save_row(uow: UnitOfWork, row: ProductRowIn, now: datetime) -> Outcome:
    known = recall(uow.store, row.external_key) if row.external_key else None
    has_variants = bool(known and known.get("variants"))
    if has_variants:  # sold through its variants: name and price only
        row = replace(
            row, on_hand=None, product=replace(row.product, backorder_policy=BackorderPolicy.DENY)
        )
    existing = uow.store.get_product(row.product.sku)
    merged = merged_product(existing, row)
    product, _ = catalog.save_product(uow, merged, now)
    changed = product != existing
    if row.on_hand is not None:
        changed |= _count(uow, product, row.warehouse, row.on_hand, row.reference, now)
    if row.external_key:
        facts = {"sku": product.sku} | ({"variants": True} if has_variants else {})
        changed |= remember(uow.store, row.external_key, facts, now)
    return outcome_of(existing is None, changed)


def outcome_of(created: bool, changed: bool) -> Outcome:
    if created:
        return Outcome.CREATED
    return Outcome.UPDATED if changed else Outcome.UNCHANGED


@retried
def import_variant(uow: UnitOfWork, row: VariantRowIn, now: datetime) -> Outcome:
    """Create or update a variant of a product imported earlier; its parent stops selling."""
    with uow:
        store = uow.store
        parent_sku = (recall(store, row.parent_key) or {}).get("sku")
        parent = store.get_product(parent_sku) if parent_sku else None
        if parent is None:
            raise NotFound(
                f"unknown parent {row.parent_label}: import its product first", field="parent"
            )
        variant = _variant_row(row, parent)
        store.lock_skus([parent.sku, variant.product.sku])
        joined = _JoinedUnitOfWork(uow)
        outcome = _save_row(joined, variant, now)
        changed = _retire_parent(joined, parent, row.warehouse, row.reference, now)
        changed |= remember(store, row.parent_key, {"sku": parent.sku, "variants": True}, now)
        if row.external_key:
            facts = {"sku": variant.product.sku, "parent_key": row.parent_key}
            changed |= remember(store, row.external_key, facts, now)
        uow.commit()
    return Outcome.UPDATED if changed and outcome is Outcome.UNCHANGED else outcome


def _variant_row(row: VariantRowIn, parent: Product) -> ProductRowIn:
    sku = row.sku or f"{parent.sku}-{row.sku_suffix}"[:100].rstrip("-")
    name = f"{parent.name} - {', '.join(row.values)}" if row.values else parent.name
    price = parent.price_minor + row.price_delta_minor
    if price < 0:
        raise InvalidInput("price_minor", f"the parent's price plus the impact is {price}")
    product = Product(
        sku, name, price, parent.currency, parent.backorder_policy, parent.backorder_limit
    )
    return ProductRowIn(product, row.warehouse, row.on_hand, row.reference, sets_limit=True)


def _retire_parent(
    uow: UnitOfWork, parent: Product, warehouse: str, reference: str | None, now: datetime
) -> bool:
    """A product with variants is sold through them: deny, and no stock of its own here."""
    changed = parent.backorder_policy is not BackorderPolicy.DENY
    if changed:
        catalog.save_product(uow, replace(parent, backorder_policy=BackorderPolicy.DENY), now)
    levels = [s for s in uow.store.stock_levels(parent.sku) if s.warehouse == warehouse]
    if levels and levels[0].on_hand:
        changed |= _count(uow, parent, warehouse, 0, reference, now)
    return changed


# -- external keys ----------------------------------------------------------------------------

EXTERNAL_KEY = "external_key"  # the command name of remembered ids in the command-key table


def recall(store: Store, key: str) -> dict | None:
    """What `remember` stored under a platform's id, or None."""
    return store.get_command_result(key)


def remember(store: Store, key: str, value: dict, now: datetime) -> bool:
    """Store `value` under `key` (a platform's id); True when that is new or different."""
    known = store.get_command_result(key)
    if known == value:
        return False
    if known is None:
        store.put_command_result(key, EXTERNAL_KEY, value, now)
    else:
        store.replace_command_result(key, value)
    return True


@retried
def import_stock_count(uow: UnitOfWork, row: StockCountIn, now: datetime) -> Outcome:
    """Set a SKU's on_hand at a warehouse (created when missing); all or nothing."""
    with uow:
        store = uow.store
        store.lock_skus([row.sku])
        joined = _JoinedUnitOfWork(uow)
        product = store.get_product(row.sku)
        if product is None:
            raise NotFound(f"unknown SKU {row.sku!r}: import its product first", field="sku")
        if store.get_warehouse(row.warehouse) is None:
            catalog.save_warehouse(joined, row.warehouse, row.warehouse_name)
        is_new = all(level.warehouse != row.warehouse for level in store.stock_levels(row.sku))
        changed = _count(joined, product, row.warehouse, row.count, row.reference, now)
        uow.commit()
    if is_new:
        return Outcome.CREATED
    return Outcome.UPDATED if changed else Outcome.UNCHANGED


def merged_product(existing: Product | None, row: ProductRowIn) -> Product:
    """The product a row makes of `existing`. A file that says only deny or allow (Shopify's
    deny / continue) leaves an allow_notify product allow_notify when it says allow, so that
    our export read back changes nothing."""
    product = _merged(existing, row.product, sets_limit=row.sets_limit)
    keeps_notify = (
        row.coarse_policy
        and existing is not None
        and existing.backorder_policy is BackorderPolicy.ALLOW_NOTIFY
        and product.backorder_policy is BackorderPolicy.ALLOW
    )
    if keeps_notify:
        return replace(product, backorder_policy=BackorderPolicy.ALLOW_NOTIFY)
    return product


def _merged(existing: Product | None, imported: Product, *, sets_limit: bool = False) -> Product:
    """The file's name, price, currency and policy; our own limit and release time stay
    (the limit too when the file carries one)."""
    if existing is None:
        return imported
    return replace(
        existing,
        name=imported.name,
        price_minor=imported.price_minor,
        currency=imported.currency,
        backorder_policy=imported.backorder_policy,
        backorder_limit=imported.backorder_limit if sets_limit else existing.backorder_limit,
    )


def _count(
    uow: UnitOfWork,
    product: Product,
    warehouse: str,
    counted: int,
    reference: str | None,
    now: datetime,
) -> bool:
    """Set on_hand to `counted`; a negative count is units owed. True when anything changed."""
    moved = stock.adjust_stock(
        uow,
        product.sku,
        warehouse,
        now,
        count=max(counted, 0),
        reason="import",
        reference=reference,
    )
    recorded = counted < 0 and _record_owed_units(uow, product, warehouse, -counted, now)
    return moved["change"] != 0 or recorded


def _record_owed_units(
    uow: UnitOfWork, product: Product, warehouse: str, owed: int, now: datetime
) -> bool:
    """Owed units become an order of the backlog customer (see the module notes); once."""
    reference = f"shopify-backlog:{product.sku}@{warehouse}"
    if uow.store.find_order_id(reference) is not None:
        return False
    customer = catalog.create_customer(uow, BACKLOG_CUSTOMER, now)
    lenient = replace(product, backorder_policy=BackorderPolicy.ALLOW, backorder_limit=None)
    catalog.save_product(uow, lenient, now)
    order = orders.PlaceOrder(
        customer.id,
        [orders.OrderLineIn(product.sku, owed)],
        fulfilment=Fulfilment.SHIP_PARTIAL,
        external_ref=reference,
        channel="shopify",
    )
    orders.place_order(uow, order, now)
    catalog.save_product(uow, product, now)
    return True


# -- orders -----------------------------------------------------------------------------------


@retried
def import_order(uow: UnitOfWork, order: OrderImportIn, now: datetime) -> Outcome:
    """Place an imported order once (its customer and, if asked, its products too)."""
    with uow:
        store = uow.store
        if store.find_order_id(order.external_ref) is not None:
            return Outcome.UNCHANGED
        store.lock_skus(line.sku for line in order.lines)
        joined = _JoinedUnitOfWork(uow)
        _require_products(joined, order, now)
        customer = catalog.create_customer(joined, order.customer, now)
        lines = [orders.OrderLineIn(x.sku, x.qty, x.unit_price_minor) for x in order.lines]
        command = orders.PlaceOrder(
            customer.id, lines, external_ref=order.external_ref, channel=order.channel
        )
        orders.place_order(joined, command, order.placed_at or now)
        uow.commit()
    return Outcome.CREATED


class UnknownSkus(InvalidInput):
    """Every line of an order whose SKU the catalog lacks, at once (the first in `field`)."""

    def __init__(self, unknown: list[tuple[int, str]]) -> None:
        problems = [
            {"field": f"lines[{index}].sku", "reason": f"unknown SKU {sku!r}: not in the catalog"}
            for index, sku in unknown
        ]
        super().__init__(problems[0]["field"], problems[0]["reason"])
        self.details["problems"] = problems


def _require_products(uow: UnitOfWork, order: OrderImportIn, now: datetime) -> None:
    """Every line's SKU in the catalog, in the order's currency (or created, if asked)."""
    known = uow.store.get_products({line.sku for line in order.lines})
    unknown = [(i, line.sku) for i, line in enumerate(order.lines) if line.sku not in known]
    if unknown and not order.create_products:
        raise UnknownSkus(unknown)
    for index, sku in unknown:
        if sku not in known:  # a SKU on two lines is created once
            known[sku] = _product_for_line(uow, index, order.lines[index], order.currency, now)
    for line in order.lines:
        if known[line.sku].currency != order.currency:
            raise InvalidInput(
                "currency",
                f"the order is in {order.currency} but the catalog prices {line.sku} "
                f"in {known[line.sku].currency}",
            )


def _product_for_line(
    uow: UnitOfWork, index: int, line: ImportedLine, currency: str, now: datetime
) -> Product:
    """A product made from an order line: its name and price, backorders allowed."""
    price = line.unit_price_minor or 0
    product = Product(line.sku, line.name, price, currency, BackorderPolicy.ALLOW)
    try:
        saved, _ = catalog.save_product(uow, product, now)
    except InvalidInput as error:
        field_name = f"lines[{index}].{error.details['field']}"
        raise InvalidInput(field_name, error.details["reason"]) from error
    return saved
