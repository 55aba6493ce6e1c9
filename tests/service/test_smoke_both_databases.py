from backorder.domain.model import BackorderPolicy, Product, Tier
from backorder.service import catalog, orders, queries, stock


def test_receipt_goes_to_critical_customer_first_on_both_databases(any_app, clock):
    uow, now = any_app.uow, clock()
    catalog.save_product(uow, Product("A", "Widget", 1000, "EUR", BackorderPolicy.ALLOW), now)
    ann = catalog.create_customer(uow, catalog.CustomerIn("Ann"), now)
    bob = catalog.create_customer(uow, catalog.CustomerIn("Bob", tier=Tier.CRITICAL), now)
    first = orders.place_order(uow, orders.PlaceOrder(ann.id, [orders.OrderLineIn("A", 2)]), now)
    second = orders.place_order(
        uow, orders.PlaceOrder(bob.id, [orders.OrderLineIn("A", 2)]), clock.advance(minutes=1)
    )

    stock.receive_stock(uow, "A", "main", 3, clock.advance(minutes=1), reference="PO-1")

    assert queries.order(uow, second.id).lines[0].allocated == 2
    assert queries.order(uow, first.id).lines[0].allocated == 1
    assert queries.order(uow, first.id).lines[0].backordered == 1
    assert [s.allocated for s in queries.stock(uow, "A")] == [3]
    assert queries.check(uow) == []
