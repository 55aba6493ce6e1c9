"""What the service needs from the outside, as Protocols the adapters implement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ..domain.allocation import Grant, WaitingLine
from ..domain.model import Product, StockLevel
from .views import (
    AllocationLogEntry,
    CustomerView,
    EventView,
    LedgerEntry,
    OrderView,
    StockView,
)

if TYPE_CHECKING:  # notifications imports this module
    from .notifications import Delivery, RenderedMessage


class AllocationLogRow(NamedTuple):
    """One allocation decision as the log stores it (columns in table order)."""

    sku: str
    warehouse: str
    line_id: int
    order_id: int
    qty: int  # negative when units went back to waiting
    cause: str
    reference: str | None
    priority_key: str | None  # the key as JSON text
    reason: str
    ahead_of_line_id: int | None
    created_at: datetime


class RetryableConflict(Exception):
    """A lock conflict or concurrent duplicate: run the whole command again."""


class Clock(Protocol):
    def __call__(self) -> datetime: ...


class Store(Protocol):
    def lock_skus(self, skus: Iterable[str]) -> None: ...
    def get_product(self, sku: str) -> Product | None: ...
    def get_products(self, skus: Iterable[str]) -> dict[str, Product]: ...
    def list_products(self, limit: int, offset: int) -> list[Product]: ...
    def insert_product(self, product: Product, now: datetime) -> None: ...
    def update_product(self, product: Product, now: datetime) -> None: ...
    def get_warehouse(self, code: str) -> dict | None: ...
    def list_warehouses(self) -> list[dict]: ...
    def upsert_warehouse(self, code: str, name: str, rank: int) -> None: ...
    def stock_levels(self, sku: str) -> tuple[StockLevel, ...]: ...
    def all_stock(self, sku: str | None = None) -> list[StockView]: ...
    def ensure_stock_row(self, sku: str, warehouse: str) -> None: ...
    def change_stock(
        self, sku: str, warehouse: str, on_hand: int = 0, allocated: int = 0
    ) -> int: ...
    def append_ledger(
        self,
        sku: str,
        warehouse: str,
        delta: int,
        on_hand_after: int,
        reason: str,
        reference: str | None,
        now: datetime,
    ) -> None: ...
    def ledger_entries(self, sku: str | None, limit: int) -> list[LedgerEntry]: ...
    def backordered_total(self, sku: str) -> int: ...
    def insert_customer(self, values: dict, now: datetime) -> int: ...
    def get_customer(self, customer_id: int) -> CustomerView | None: ...
    def find_customer(self, external_id: str) -> CustomerView | None: ...
    def update_customer(self, customer_id: int, values: dict) -> None: ...
    def list_customers(self, limit: int, offset: int) -> list[CustomerView]: ...
    def insert_order(self, values: dict) -> int: ...
    def insert_line(self, values: dict) -> int: ...
    def find_order_id(self, external_ref: str) -> int | None: ...
    def order_skus(self, order_id: int) -> list[str]: ...
    def get_order(self, order_id: int) -> OrderView | None: ...
    def list_orders(self, customer_id: int | None, limit: int, offset: int) -> list[OrderView]: ...
    def change_line(
        self,
        line_id: int,
        *,
        qty: int = 0,
        allocated: int = 0,
        backordered: int = 0,
        shipped: int = 0,
        cancelled: int = 0,
    ) -> None: ...
    def change_line_allocation(
        self, line_id: int, sku: str, warehouse: str, delta: int
    ) -> None: ...
    def waiting_lines(self, sku: str) -> list[WaitingLine]: ...
    def allocated_of_waiting_lines(self, sku: str) -> dict[int, int]: ...
    def skus_waiting_for_release(self, now: datetime) -> list[str]: ...
    def apply_grants(self, sku: str, grants: Sequence[Grant]) -> None: ...
    def fully_allocated_orders(self, order_ids: Iterable[int]) -> set[int]: ...
    def insert_allocation_log(self, rows: Sequence[AllocationLogRow]) -> None: ...
    def allocation_log(
        self, sku: str | None, order_id: int | None, limit: int
    ) -> list[AllocationLogEntry]: ...
    def insert_events(self, rows: list[dict]) -> None: ...
    def events(
        self,
        kind: str | None = None,
        order_id: int | None = None,
        limit: int = 1000,
        after_id: int | None = None,
    ) -> list[EventView]: ...
    def get_command_result(self, key: str) -> dict | None: ...
    def get_command(self, key: str) -> tuple[dict, datetime] | None: ...
    def replace_command_result(self, key: str, result: dict) -> None: ...
    def delete_command(self, key: str) -> None: ...
    def put_command_result(self, key: str, command: str, result: dict, now: datetime) -> None: ...
    def insert_shipment(self, order_id: int, now: datetime, lines: list[dict]) -> int: ...
    def check_queries(self) -> dict[str, str]: ...
    def run_check(self, sql: str) -> list[tuple[str, str]]: ...


class UnitOfWork(Protocol):
    """A transaction around a Store. Leaving it without `commit()` rolls back."""

    store: Store
    shop_timezone: str  # IANA name; dates shown to people and PO dates are in it

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, exc_type, exc, tb) -> None: ...
    def commit(self) -> None: ...
    def reader(self) -> UnitOfWork: ...


# -- notifications (issue 8) ------------------------------------------------------------------


class DeliveryFailed(Exception):
    """A channel could not deliver. `permanent`: retrying cannot help (a refused address)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class ChannelSender(Protocol):
    """Sends one planned delivery (e-mail, webhook, log); raises DeliveryFailed.

    Called outside any transaction; it may be called again for the same delivery after a
    crash, so it passes the delivery's idempotency key on for the receiver to discard repeats.
    """

    channel: str

    def send(self, delivery: Delivery) -> None: ...


class MessageRenderer(Protocol):
    """Turns a customer-facing event's facts into a message, or None for kinds without one."""

    def render(self, kind: str, locale: str, facts: dict) -> RenderedMessage | None: ...


# -- payments (issue 4) -----------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayResult:
    """A gateway's final or interim answer to one operation."""

    status: str  # succeeded | declined | pending (a confirmation follows by callback)
    reference: str | None = None  # the gateway's id of the authorization, capture, refund
    amount: int = 0
    expires_at: datetime | None = None  # authorizations: when the hold lapses
    reason: str | None = None  # why it was declined


@dataclass(frozen=True)
class GatewayEvent:
    """A verified callback: the outcome of the operation that carried `key`."""

    event_id: str
    kind: str  # authorize | capture | void | refund
    key: str  # the idempotency key of the operation it reports on
    result: GatewayResult
    parent: str | None = None  # the authorization of a capture or void; the capture of a refund


class GatewayUnavailable(Exception):
    """No answer (timeout, connection refused, 5xx): the operation may or may not have
    happened, so it is retried later with the same idempotency key."""


class InvalidCallback(Exception):
    """A callback whose signature, age or body does not check out; nothing is recorded."""


class PaymentGateway(Protocol):
    """Authorize at order, capture at shipment, void and refund; each call idempotent by key.

    Called outside any transaction. A repeated key returns the first outcome and moves no
    money again, so a call that timed out is simply made again.
    """

    name: str

    def authorize(
        self, *, amount: int, currency: str, method: str | None, key: str, reference: str
    ) -> GatewayResult: ...
    def capture(
        self, *, authorization: str, amount: int, currency: str, key: str
    ) -> GatewayResult: ...
    def void(self, *, authorization: str, amount: int, key: str) -> GatewayResult: ...
    def refund(self, *, capture: str, amount: int, currency: str, key: str) -> GatewayResult: ...
    def parse_callback(
        self, body: bytes, headers: Mapping[str, str], now: datetime
    ) -> GatewayEvent: ...
