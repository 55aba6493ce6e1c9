"""Every Alembic migration, from the first, runs on a database that already holds data.

A shop that installed revision 0001 has products, stock with its ledger, customers and
orders (some allocated, some waiting). Upgrading it to head must keep every invariant, and
the service must go on working on those rows: a new order, and a receipt that serves the old
waiting lines in priority order. The migrations are also reversible: base -> head -> base ->
head on an empty database. Both on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text

from backorder.adapters.db.engine import make_engine
from backorder.adapters.db.migrate import alembic_config, upgrade
from backorder.bootstrap import build
from backorder.config import Settings
from backorder.service import orders, queries, stock

OLD = "2026-11-20 09:00:00.000000"  # naive UTC, as UTCDateTime stores it
LATER = "2026-11-21 10:30:00.000000"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'upgrade.db'}"
    return request.getfixturevalue("pg_url")


def insert(conn: Connection, table: str, **values) -> int | None:
    """One row by raw SQL; returns its generated id when the table has one."""
    columns = ", ".join(values)
    names = ", ".join(f":{name}" for name in values)
    returning = " RETURNING id" if table in {"customers", "orders", "order_lines"} else ""
    result = conn.execute(
        text(f"INSERT INTO {table} ({columns}) VALUES ({names}){returning}"), values
    )
    return result.scalar_one() if returning else None


def seed_revision_0001(engine: Engine) -> dict[str, int]:
    """A shop on 0001: MUG 5 on hand, all promised to Ann who waits for 2 more; Vip (critical)
    waits for 3; PEN 10 on hand, 2 allocated to Ann. Returns the ids the test needs."""
    with engine.begin() as conn:
        for sku, policy, price in (("MUG", "allow", 1250), ("PEN", "deny", 300)):
            insert(
                conn,
                "products",
                sku=sku,
                name=f"Old {sku}",
                price_minor=price,
                currency="EUR",
                backorder_policy=policy,
                backorder_limit=None,
                release_at=None,
                created_at=OLD,
                updated_at=OLD,
            )
        _seed_stock(conn, "MUG", on_hand=5, allocated=5)
        _seed_stock(conn, "PEN", on_hand=10, allocated=2)
        ann = _seed_customer(conn, "Ann", "standard")
        vip = _seed_customer(conn, "Vip", "critical")
        ann_order = _seed_order(conn, "OLD-A", ann, OLD)
        ann_mug = _seed_line(conn, ann_order, 1, "MUG", qty=7, allocated=5, price=1250)
        _seed_line(conn, ann_order, 2, "PEN", qty=2, allocated=2, price=300)
        vip_order = _seed_order(conn, "OLD-V", vip, LATER)
        vip_mug = _seed_line(conn, vip_order, 1, "MUG", qty=3, allocated=0, price=1250)
        insert(
            conn,
            "events",
            kind="order_placed",
            order_id=ann_order,
            sku=None,
            payload=json.dumps({"order_id": ann_order}),
            created_at=OLD,
            dispatched_at=None,
        )
        insert(
            conn,
            "command_keys",
            key="receipt:PO-OLD",
            command="receipt",
            created_at=OLD,
            result=json.dumps(
                {
                    "sku": "PEN",
                    "warehouse": "main",
                    "qty": 10,
                    "on_hand": 10,
                    "allocated_to_lines": 0,
                    "lines_served": 0,
                    "repeated": False,
                }
            ),
        )
    return {
        "ann": ann,
        "vip": vip,
        "ann_order": ann_order,
        "ann_mug": ann_mug,
        "vip_order": vip_order,
        "vip_mug": vip_mug,
    }


def _seed_stock(conn: Connection, sku: str, on_hand: int, allocated: int) -> None:
    insert(conn, "stock", sku=sku, warehouse="main", on_hand=on_hand, allocated=allocated)
    insert(
        conn,
        "ledger",
        sku=sku,
        warehouse="main",
        delta=on_hand,
        on_hand_after=on_hand,
        reason="receipt",
        reference="PO-OLD" if sku == "PEN" else None,
        created_at=OLD,
    )


def _seed_customer(conn: Connection, name: str, tier: str) -> int:
    return insert(
        conn,
        "customers",
        external_id=f"old-{name.lower()}",
        name=name,
        email=f"{name.lower()}@example.com",
        tier=tier,
        default_fulfilment="ship_partial",
        locale="en",
        created_at=OLD,
    )


def _seed_order(conn: Connection, ref: str, customer_id: int, placed_at: str) -> int:
    return insert(
        conn,
        "orders",
        external_ref=ref,
        customer_id=customer_id,
        fulfilment="ship_partial",
        paid_priority="normal",
        requested_date=None,
        placed_at=placed_at,
        channel="api",
        currency="EUR",
    )


def _seed_line(
    conn: Connection, order_id: int, line_no: int, sku: str, *, qty: int, allocated: int, price: int
) -> int:
    line_id = insert(
        conn,
        "order_lines",
        order_id=order_id,
        line_no=line_no,
        sku=sku,
        qty=qty,
        allocated=allocated,
        backordered=qty - allocated,
        shipped=0,
        cancelled=0,
        unit_price_minor=price,
    )
    if allocated:
        insert(conn, "line_allocations", line_id=line_id, warehouse="main", sku=sku, qty=allocated)
    return line_id


def line(order, line_id: int):
    return next(x for x in order.lines if x.id == line_id)


def test_data_written_under_revision_0001_survives_every_migration_and_keeps_working(
    database_url, clock
):
    engine = make_engine(database_url)
    upgrade(engine, "0001")
    ids = seed_revision_0001(engine)
    upgrade(engine, "head")
    engine.dispose()

    app = build(Settings(database_url=database_url), clock=clock)
    try:
        assert queries.check(app.uow) == []
        assert queries.order_by_ref(app.uow, "OLD-A").id == ids["ann_order"]
        assert [(q.order_id, q.backordered) for q in queries.queue(app.uow, "MUG")] == [
            (ids["vip_order"], 3),
            (ids["ann_order"], 2),
        ]

        new = orders.place_order(
            app.uow,
            orders.PlaceOrder(ids["ann"], [orders.OrderLineIn("PEN", 3)], external_ref="NEW-1"),
            clock(),
        )
        assert [(x.sku, x.allocated, x.backordered) for x in new.lines] == [("PEN", 3, 0)]
        assert new.id > ids["vip_order"]  # the id sequence carried on past the old rows

        received = stock.receive_stock(app.uow, "MUG", "main", 4, clock(), reference="PO-NEW")
        assert (received["on_hand"], received["allocated_to_lines"]) == (9, 4)
        vip_mug = line(queries.order(app.uow, ids["vip_order"]), ids["vip_mug"])
        ann_mug = line(queries.order(app.uow, ids["ann_order"]), ids["ann_mug"])
        assert (vip_mug.allocated, vip_mug.backordered) == (3, 0)  # critical first
        assert (ann_mug.allocated, ann_mug.backordered) == (6, 1)

        old_receipt = stock.receive_stock(app.uow, "PEN", "main", 10, clock(), reference="PO-OLD")
        assert old_receipt["repeated"] is True  # the 0001 idempotency key still counts
        assert [(s.sku, s.on_hand, s.allocated) for s in queries.stock(app.uow)] == [
            ("MUG", 9, 9),
            ("PEN", 10, 5),
        ]
        assert queries.check(app.uow) == []
    finally:
        app.close()


def test_migrations_go_down_to_base_and_up_again_on_an_empty_database(database_url):
    engine = make_engine(database_url)
    config = alembic_config(engine)
    try:
        command.upgrade(config, "head")
        tables_at_head = set(inspect(engine).get_table_names())
        command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
        assert set(inspect(engine).get_table_names()) == tables_at_head
        with engine.connect() as conn:
            warehouses = conn.execute(text("SELECT code FROM warehouses")).scalars().all()
        assert warehouses == ["main"]
    finally:
        engine.dispose()
