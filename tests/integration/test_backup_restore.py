"""backup → change → restore brings the exact earlier state back, on both databases."""

from __future__ import annotations

from backorder.adapters.db.backup import backup, restore
from backorder.domain.model import BackorderPolicy, Product
from backorder.service import catalog, orders, queries, stock


def test_restore_brings_back_the_state_of_the_backup(any_app, clock, tmp_path):
    uow = any_app.uow
    catalog.save_product(uow, Product("A", "Anvil", 100, "EUR", BackorderPolicy.ALLOW), clock())
    stock.receive_stock(uow, "A", "main", 3, clock())
    ann = catalog.create_customer(uow, catalog.CustomerIn("Ann"), clock())
    orders.place_order(uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("A", 5)]), clock())
    target = tmp_path / "shop.backup"

    backup(any_app.engine, target)
    stock.receive_stock(uow, "A", "main", 10, clock())
    orders.place_order(uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("A", 1)]), clock())
    restore(any_app.engine, target)

    [row] = queries.stock(uow, "A")
    assert (row.on_hand, row.allocated) == (3, 3)
    assert [o.lines[0].backordered for o in queries.orders(uow)] == [2]
    assert len(queries.ledger(uow, "A")) == 1
    assert queries.check(uow) == []
