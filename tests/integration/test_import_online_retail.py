"""The UCI Online Retail sample (8,000 rows, 444 invoices) imported as a time-ordered stream of
orders, cancellations and write-offs, and small files written here. Row numbers are file lines,
the header being row 1.

The real file is imported once per module (it takes half a minute) and then re-imported; the
tests below only read what those two imports left.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backorder.adapters.importers import online_retail, registry
from backorder.adapters.importers.csvstream import CsvFile
from backorder.bootstrap import build
from backorder.config import Settings
from backorder.service import queries, stock
from tests.conftest import FakeClock, shared_file

from .importing import counts, errors, facts, on_hand, run, write

SAMPLE = "online-retail-mamtayadav28/online_retail_sample.csv"
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """(app, first import, re-import) of the sample file."""
    path = tmp_path_factory.mktemp("online-retail") / "retail.db"
    app = build(Settings(database_url=f"sqlite:///{path}"), clock=FakeClock())
    first = run(app, shared_file(SAMPLE))
    ledger_rows, events = len(queries.ledger(app.uow)), len(queries.events(app.uow))
    again = run(app, shared_file(SAMPLE))
    assert (len(queries.ledger(app.uow)), len(queries.events(app.uow))) == (ledger_rows, events)
    yield app, first, again
    app.close()


def lines_of(app, ref: str) -> list[tuple]:
    order = queries.order_by_ref(app.uow, ref)
    return [
        (line.sku, line.qty, line.unit_price_minor, line.backordered, line.cancelled)
        for line in order.lines
    ]


def test_the_sample_gives_orders_cancellations_and_refused_corrections(imported):
    app, first, _ = imported

    assert counts(first) == {
        "read": 8000,
        "created": 385,
        "updated": 0,
        "unchanged": 0,
        "skipped": 28,
        "errors": 111,
    }
    assert first.skipped_because == {"a charge (postage, fee), not goods": 28}
    assert len(queries.orders(app.uow, limit=1000)) == 378  # 375 invoices + 3 second parts
    reasons = [e.reason for e in first.errors]
    assert sum(r.startswith("cancels ") for r in reasons) == 81  # sales before the file
    assert sum("would fall below" in r for r in reasons) == 18  # write-offs: no stock
    assert sum(r.startswith("unknown SKU") for r in reasons) == 12  # write-offs: never sold


def test_reimporting_the_sample_changes_nothing(imported):
    _, _, again = imported

    assert counts(again) == {
        "read": 8000,
        "created": 0,
        "updated": 0,
        "unchanged": 385,
        "skipped": 28,
        "errors": 111,
    }


def test_an_invoice_is_an_order_in_pounds_placed_at_its_london_time_and_backordered(imported):
    app, _, _ = imported

    order = queries.order_by_ref(app.uow, "online-retail:536365")
    assert order.placed_at == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)
    assert (order.currency, order.channel) == ("GBP", "online-retail")
    assert lines_of(app, "online-retail:536365") == [
        ("85123A", 6, 255, 6, 0),
        ("71053", 6, 339, 6, 0),
        ("84406B", 8, 275, 8, 0),
        ("84029G", 6, 339, 6, 0),
        ("84029E", 6, 339, 6, 0),
        ("22752", 2, 765, 2, 0),
        ("21730", 6, 425, 6, 0),
    ]
    assert queries.customer(app.uow, order.customer_id).external_id == "online-retail:17850"
    assert facts(app, "85123A") == ("WHITE HANGING HEART T-LIGHT HOLDER", 255, "GBP", "allow", None)
    assert on_hand(app, "85123A") == {}


def test_a_cancellation_invoice_cancels_the_customers_earlier_line(imported):
    app, first, _ = imported

    # 536397 (customer 17924) ordered 12 x 35004B; C536826 cancels 2, then 3 of them.
    assert [line for line in lines_of(app, "online-retail:536397") if line[0] == "35004B"] == [
        ("35004B", 12, 465, 7, 5)
    ]
    cancelled = queries.events(app.uow, kind="line_cancelled")
    assert [
        (e.payload["reason"], e.payload["lines"][0]["cancelled"])
        for e in cancelled
        if e.payload["lines"][0]["sku"] == "35004B"
    ] == [("invoice C536826", 2), ("invoice C536826", 3)]
    assert (
        "row 156, column Quantity: cancels 1 x 35004C but the earlier lines of "
        "online-retail:15311 hold only 0 open unit(s) of it" in errors(first)
    )


def test_a_long_guest_invoice_is_split_into_orders_of_500_lines(imported):
    app, _, _ = imported

    first_part = queries.order_by_ref(app.uow, "online-retail:536544")
    second_part = queries.order_by_ref(app.uow, "online-retail:536544#2")
    assert (len(first_part.lines), len(second_part.lines)) == (499, 27)  # 500 rows: 1 charge
    assert first_part.customer_id == second_part.customer_id
    guest = queries.customer(app.uow, first_part.customer_id)
    assert (guest.external_id, guest.name) == (
        "online-retail-guest:536544",
        "Online Retail guest (536544)",
    )


def test_a_negative_line_without_a_cancellation_is_a_write_off_refused_below_allocated(imported):
    _, first, _ = imported

    assert (
        "row 2408, column Quantity: 21777@main: on_hand 0 -10 would fall below the 0 units "
        "allocated to orders" in errors(first)
    )


def test_a_write_off_takes_counted_stock_out_through_the_ledger_once(any_app, tmp_path):
    app = any_app
    path = write(
        tmp_path,
        "retail.csv",
        [
            HEADER,
            "1001,MUG,MUG,4,2010-12-01 09:00:00,2.50,123.0,United Kingdom",
            "1002,MUG,,-3,2010-12-01 10:00:00,0.0,,United Kingdom",
        ],
    )
    run(app, path)
    stock.receive_stock(app.uow, "MUG", "main", 10, app.clock())  # 4 go to order 1001
    first = run(app, path)
    again = run(app, path)

    assert (first.created, first.unchanged, again.unchanged, again.created) == (1, 1, 2, 0)
    assert on_hand(app, "MUG") == {"main": 7}
    assert [e.reason for e in queries.ledger(app.uow, "MUG")].count("writeoff") == 1


def test_the_header_tells_the_file_and_bad_cells_are_reported(app, tmp_path):
    with CsvFile(shared_file(SAMPLE)) as source:
        assert registry.detect(source).name == online_retail.TRANSACTIONS
    path = write(
        tmp_path,
        "bad.csv",
        [
            HEADER,
            "2001,A1,Thing,two,2010-12-01 09:00:00,1.0,7.0,UK",
            "2002,A1,Thing,2,1/12/2010 9:00,1.0,7.0,UK",
            "C2003,A1,Thing,-1,2010-12-01 11:00:00,1.0,,UK",
            "X2004,A1,Thing,1,2010-12-01 12:00:00,1.0,7.0,UK",
        ],
    )

    result = run(app, path)

    assert errors(result) == [
        "row 2, column Quantity: 'two' is not a whole number",
        "row 3, column InvoiceDate: '1/12/2010 9:00' is not a date and time (2010-12-01 08:26:00)",
        "row 4, column CustomerID: missing: a cancellation is matched by customer",
        "row 5, column InvoiceNo: 'X2004' is not an invoice number (digits, or C and digits)",
    ]
    assert result.created == 0
