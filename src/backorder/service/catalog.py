"""Products, warehouses and customers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from ..domain.errors import NotFound
from ..domain.model import BackorderPolicy, Fulfilment, Product, Tier
from . import validation as v
from .ports import UnitOfWork
from .promising import repromise
from .runner import retried
from .views import CustomerView

LOCALES = ("en", "tr")


def validate_product(product: Product) -> Product:
    v.sku(product.sku)
    v.text(product.name, "name", 300)
    v.quantity(product.price_minor, "price_minor", allow_zero=True)
    if not (
        isinstance(product.currency, str)
        and len(product.currency) == 3
        and product.currency.isalpha()
        and product.currency.isupper()
    ):
        raise v.InvalidInput("currency", "must be a three-letter ISO 4217 code such as EUR")
    v.choice(product.backorder_policy, "backorder_policy", BackorderPolicy)
    if product.backorder_limit is not None:
        v.quantity(product.backorder_limit, "backorder_limit", allow_zero=True)
    if product.lead_time_days is not None:
        v.lead_time_days(product.lead_time_days)
    v.quantity(product.safety_stock, "safety_stock", allow_zero=True)
    if product.release_at is not None:
        v.moment(product.release_at, "release_at")
    return replace(product, backorder_policy=BackorderPolicy(product.backorder_policy))


@retried
def save_product(uow: UnitOfWork, product: Product, now: datetime) -> tuple[Product, bool]:
    """Create or update a product; returns (product, created)."""
    product = validate_product(product)
    with uow:
        store = uow.store
        store.lock_skus([product.sku])
        existing = store.get_product(product.sku)
        if existing is None:
            store.insert_product(product, now)
        elif existing != product:
            store.update_product(product, now)
            if _promise_inputs(existing) != _promise_inputs(product):
                repromise(store, product.sku, now, uow.shop_timezone)
        uow.commit()
        return product, existing is None


def _promise_inputs(product: Product) -> tuple:
    """What of a product its waiting lines' promised dates are computed from."""
    return product.lead_time_days, product.release_at


def get_product(uow: UnitOfWork, sku: str) -> Product:
    with uow.reader() as reader:
        product = reader.store.get_product(sku)
    if product is None:
        raise NotFound(f"unknown SKU {sku!r}", field="sku")
    return product


@retried
def save_warehouse(uow: UnitOfWork, code: str, name: str, rank: int = 0) -> dict:
    v.text(code, "code", 50)
    v.text(name, "name", 200)
    if not isinstance(rank, int) or not -1_000_000 <= rank <= 1_000_000:
        raise v.InvalidInput("rank", "must be a whole number between -1000000 and 1000000")
    with uow:
        uow.store.upsert_warehouse(code, name, rank)
        uow.commit()
    return {"code": code, "name": name, "rank": rank}


@dataclass(frozen=True)
class CustomerIn:
    name: str
    email: str | None = None
    tier: Tier = Tier.STANDARD
    default_fulfilment: Fulfilment = Fulfilment.SHIP_PARTIAL
    locale: str = "en"
    external_id: str | None = None


def _customer_values(customer: CustomerIn) -> dict:
    v.text(customer.name, "name", 300)
    if customer.email is not None:
        v.text(customer.email, "email", 320)
        if "@" not in customer.email:
            raise v.InvalidInput("email", "must be an e-mail address")
    if customer.locale not in LOCALES:
        raise v.InvalidInput("locale", f"must be one of: {', '.join(LOCALES)}")
    if customer.external_id is not None:
        v.text(customer.external_id, "external_id", 200)
    return {
        "name": customer.name,
        "email": customer.email,
        "tier": v.choice(customer.tier, "tier", Tier).value,
        "default_fulfilment": v.choice(
            customer.default_fulfilment, "default_fulfilment", Fulfilment
        ).value,
        "locale": customer.locale,
        "external_id": customer.external_id,
    }


@retried
def create_customer(uow: UnitOfWork, customer: CustomerIn, now: datetime) -> CustomerView:
    """Create a customer; with an external id already known, return that customer."""
    values = _customer_values(customer)
    with uow:
        store = uow.store
        if customer.external_id and (found := store.find_customer(customer.external_id)):
            return found
        customer_id = store.insert_customer(values, now)
        uow.commit()
        return store.get_customer(customer_id)


@retried
def update_customer(uow: UnitOfWork, customer_id: int, customer: CustomerIn) -> CustomerView:
    values = _customer_values(customer)
    with uow:
        if uow.store.get_customer(customer_id) is None:
            raise NotFound(f"unknown customer {customer_id}", field="customer_id")
        uow.store.update_customer(customer_id, values)
        uow.commit()
        return uow.store.get_customer(customer_id)
