"""Kaggle-style inventory snapshots: the real 10,000-SKU file, small files for the edge cases,
and how well the risk ranking separates the file's `went_on_backorder` labels.

The snapshot date is 2026-12-03, the test clock's day. Row numbers are file lines, the header
being row 1.
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backorder.adapters.importers import kaggle
from backorder.adapters.importers.csvstream import CsvFile, ImportResult, UnusableInput
from backorder.bootstrap import App, build
from backorder.config import Settings
from backorder.entrypoints import cli
from backorder.entrypoints.api.app import create_app
from backorder.service import catalog, purchasing, queries, risk, snapshots, stock
from tests.conftest import FakeClock, shared_file

BACKORDERS = "backorders_kaggle/BackOrders.csv"
DAY = date(2026, 12, 3)
HEADER = (
    "sku,national_inv,lead_time,in_transit_qty,forecast_3_month,forecast_6_month,"
    "forecast_9_month,sales_1_month,sales_3_month,sales_6_month,sales_9_month,min_bank,"
    "potential_issue,pieces_past_due,perf_6_month_avg,perf_12_month_avg,local_bo_qty,deck_risk,"
    "oe_constraint,ppap_risk,stop_auto_buy,rev_stop,went_on_backorder"
)
FLAGS = "No,0,0.9,0.9,0,No,No,No,Yes,No,No"  # potential_issue .. went_on_backorder, all quiet


def import_snapshot(app: App, path: Path, day: date = DAY) -> ImportResult:
    with CsvFile(path) as source:
        entries = kaggle.parse(source, day)
        return kaggle.apply_in_batches(
            source, entries, lambda items: snapshots.import_snapshots(app.uow, items, app.clock())
        )


def write(tmp_path: Path, lines: list[str], name: str = "snapshot.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def roc_auc(scores: list[float], labels: list[bool]) -> float:
    """Mann-Whitney: the chance a random positive scores above a random negative (ties 1/2)."""
    ordered = sorted(zip(scores, labels, strict=True))
    positive_ranks, start = 0.0, 0
    while start < len(ordered):
        end = start
        while end < len(ordered) and ordered[end][0] == ordered[start][0]:
            end += 1
        mid_rank = (start + 1 + end) / 2  # ranks start..end-1, 1-based, share their mean
        positive_ranks += mid_rank * sum(1 for _, label in ordered[start:end] if label)
        start = end
    positives = sum(labels)
    negatives = len(labels) - positives
    return (positive_ranks - positives * (positives + 1) / 2) / (positives * negatives)


def test_roc_auc_counts_ties_as_half():
    assert roc_auc([0.1, 0.2, 0.3, 0.4], [False, False, True, True]) == 1.0
    assert roc_auc([0.4, 0.3, 0.2, 0.1], [False, False, True, True]) == 0.0
    assert roc_auc([1, 1, 1, 1], [False, True, False, True]) == 0.5
    assert roc_auc([0, 1, 1, 2], [False, True, False, True]) == 0.875


# -- the real file, imported once for the tests of this section -------------------------------


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The whole file imported into a fresh SQLite database: (app, result, seconds)."""
    path = shared_file(BACKORDERS)
    folder = tmp_path_factory.mktemp("kaggle")
    app = build(Settings(database_url=f"sqlite:///{folder / 'k.db'}"), clock=FakeClock())
    started = time.perf_counter()
    result = import_snapshot(app, path)
    seconds = time.perf_counter() - started
    print(f"\nimported {result.rows_read} rows in {seconds:.1f} s")
    yield app, result, seconds
    app.close()


def backlog_orders(app: App):
    customer = catalog.create_customer(app.uow, snapshots.BACKLOG_CUSTOMER, app.clock())
    return queries.orders(app.uow, customer.id, limit=10_000)


def transit_orders(app: App):
    return [
        po
        for po in queries.purchase_orders(app.uow, limit=100_000)
        if (po.reference or "").startswith("kaggle-transit:")
    ]


def test_every_row_becomes_a_sku_in_reasonable_time(loaded):
    app, result, seconds = loaded

    assert (result.rows_read, result.created, result.error_count) == (10_000, 10_000, 0)
    assert len(queries.products(app.uow, limit=20_000)) == 10_000
    assert len(snapshots.latest_snapshots(app.uow)) == 10_000
    assert seconds < 30  # about 6 s here
    assert queries.check(app.uow) == []


def test_negative_national_inv_is_units_owed_on_a_backlog_order_never_negative_stock(loaded):
    app, _, _ = loaded
    orders = backlog_orders(app)

    assert len(orders) == 188
    assert sum(line.backordered for order in orders for line in order.lines) == 12_072
    assert min(row.on_hand for row in queries.stock(app.uow)) == 0
    owed = queries.order_by_ref(app.uow, "kaggle-backlog:1936221")  # national_inv -8, 2 weeks
    [line] = owed.lines
    assert (line.sku, line.qty, line.backordered, line.allocated) == ("1936221", 8, 8, 0)
    assert (line.promised_date, line.promise_basis) == (date(2026, 12, 17), "lead_time")
    assert [(s.on_hand, s.allocated) for s in queries.stock(app.uow, "1936221")] == [(0, 0)]


def test_in_transit_quantity_is_a_sent_po_due_one_lead_time_after_the_snapshot(loaded):
    app, _, _ = loaded
    pos = transit_orders(app)

    assert len(pos) == 1868
    assert {po.status for po in pos} == {"sent"}
    assert sum(po.lines[0].qty for po in pos) == 261_158
    assert Counter(po.supplier_id for po in pos).most_common(1)[0][1] == 1868
    [po] = [po for po in pos if po.reference == "kaggle-transit:1475481:2026-12-03"]
    assert (po.lines[0].sku, po.lines[0].qty) == ("1475481", 10)
    assert po.lines[0].expected_date == date(2027, 3, 18)  # 15 weeks
    [unknown] = [po for po in pos if po.reference == "kaggle-transit:1545978:2026-12-03"]
    assert (unknown.lines[0].qty, unknown.lines[0].expected_date) == (161, date(2027, 1, 28))


def test_one_sku_exactly(loaded):
    app, _, _ = loaded
    product = catalog.get_product(app.uow, "1475481")
    stored = snapshots.latest_snapshots(app.uow)["1475481"]
    [count] = [e for e in queries.ledger(app.uow, "1475481") if e.reason == "import"]

    assert (product.name, product.price_minor, product.backorder_policy.value) == (
        "SKU 1475481",
        0,
        "allow",
    )
    assert (product.lead_time_days, product.safety_stock) == (105, 47)
    assert (count.delta, count.on_hand_after, count.reference) == (
        258,
        258,
        "kaggle-snapshot:2026-12-03",
    )
    assert stored == snapshots.SkuSnapshot(
        "1475481",
        DAY,
        258,
        10,
        15,
        10,
        77,
        184,
        46,
        132,
        256,
        365,
        47,
        0,
        0,
        0.54,
        0.7,
        potential_issue=False,
        deck_risk=False,
        oe_constraint=False,
        ppap_risk=False,
        stop_auto_buy=True,
        rev_stop=False,
        went_on_backorder=False,
    )


def test_na_lead_time_and_minus_99_performance_are_stored_as_unknown(loaded):
    app, _, _ = loaded
    stored = snapshots.latest_snapshots(app.uow)

    assert catalog.get_product(app.uow, "1545978").lead_time_days is None
    assert stored["1545978"].lead_time_weeks is None
    assert sum(1 for s in stored.values() if s.lead_time_weeks is None) == 567
    assert (stored["1888279"].perf_6_month_avg, stored["1888279"].perf_12_month_avg) == (None, None)
    assert Counter(s.went_on_backorder for s in stored.values()) == {False: 8145, True: 1855}


def test_stock_counts_go_through_the_ledger(loaded):
    app, _, _ = loaded
    counts = [e for e in queries.ledger(app.uow, None, 100_000) if e.reason == "import"]

    assert len(counts) == 8658  # the rows with national_inv > 0
    assert sum(e.delta for e in counts) == 2_685_959
    assert sum(s.on_hand for s in queries.stock(app.uow)) == 2_685_959


def test_the_risk_ranking_separates_the_went_on_backorder_labels(loaded):
    app, _, _ = loaded
    with shared_file(BACKORDERS).open(newline="") as file:  # the labels, read independently
        labels = {row["sku"]: row["went_on_backorder"] == "Yes" for row in csv.DictReader(file)}

    ranked = risk.rank_skus(app.uow)
    auc = roc_auc([row.score for row in ranked], [labels[row.sku] for row in ranked])
    balance_only = roc_auc(
        [-row.projected_balance for row in ranked], [labels[row.sku] for row in ranked]
    )
    top_decile = sum(labels[row.sku] for row in ranked[:1000]) / 1000

    print(
        f"\nROC AUC {auc:.4f} (score), {balance_only:.4f} (-projected balance alone); "
        f"{top_decile:.0%} of the top 1000 went on backorder (18.6% of all)"
    )
    assert len(ranked) == 10_000
    assert [row.rank for row in ranked[:3]] == [1, 2, 3]
    assert auc >= 0.90  # measured 0.9034
    assert balance_only >= 0.87  # measured 0.8751
    assert top_decile >= 0.60


def test_a_risk_row_shows_its_parts(loaded):
    app, _, _ = loaded
    [row] = [r for r in risk.rank_skus(app.uow) if r.sku == "1936221"]

    # -8 owed, 2 weeks of a 66-a-quarter forecast (ceil 10.2 = 11), min_bank 4
    assert (row.free_stock, row.owed, row.in_transit) == (0, 8, 0)
    assert (row.forecast_over_lead_time, row.sales_above_forecast, row.safety_stock) == (11, 0, 4)
    assert (row.projected_balance, row.shortfall, row.need) == (-23, 23, 15)
    assert row.score == 23 / 16
    assert row.explanation.startswith("short 23 of 15 needed over 2 weeks")


def row_counts(app: App) -> tuple[int, ...]:
    return (
        len(backlog_orders(app)),
        len(transit_orders(app)),
        len(queries.ledger(app.uow, None, 100_000)),
        len(queries.events(app.uow, limit=100_000)),
    )


def test_importing_the_same_file_again_creates_nothing(loaded):
    app, _, _ = loaded
    before = row_counts(app)

    result = import_snapshot(app, shared_file(BACKORDERS))

    assert (result.created, result.updated, result.unchanged) == (0, 0, 10_000)
    assert result.error_count == 0
    assert row_counts(app) == before
    assert queries.check(app.uow) == []


# -- small files -------------------------------------------------------------------------------


def test_a_later_snapshot_replaces_stock_and_in_transit_and_keeps_the_backlog(app, clock, tmp_path):
    first = write(
        tmp_path,
        [HEADER, f"A1,5,2,7,13,13,13,1,3,6,9,1,{FLAGS}", f"B2,-3,NA,0,0,0,0,0,0,0,0,0,{FLAGS}"],
        "first.csv",
    )
    later = write(
        tmp_path,
        [HEADER, f"A1,9,4,2,13,13,13,1,3,6,9,2,{FLAGS}", f"B2,-5,NA,4,0,0,0,0,0,0,0,0,{FLAGS}"],
        "later.csv",
    )
    import_snapshot(app, first, date(2026, 12, 1))
    clock.advance(days=2)

    result = import_snapshot(app, later, DAY)

    assert (result.created, result.updated) == (0, 2)
    assert [s.on_hand for s in queries.stock(app.uow, "A1")] == [9]
    assert [e.delta for e in queries.ledger(app.uow, "A1")] == [4, 5]  # newest first
    lines = {po.reference: po.lines[0] for po in transit_orders(app)}
    assert lines["kaggle-transit:A1:2026-12-01"].cancelled == 7  # replaced by the later figure
    latest = lines["kaggle-transit:A1:2026-12-03"]
    assert (latest.qty, latest.expected_date) == (2, date(2026, 12, 31))  # 4 weeks
    assert lines["kaggle-transit:B2:2026-12-03"].expected_date == date(2027, 1, 28)  # NA: 8 weeks
    assert queries.order_by_ref(app.uow, "kaggle-backlog:B2").lines[0].backordered == 3  # kept
    assert catalog.get_product(app.uow, "A1").safety_stock == 2
    assert snapshots.latest_snapshots(app.uow)["A1"].snapshot_date == DAY
    assert queries.check(app.uow) == []


def test_bad_cells_are_row_errors_naming_row_and_column_and_the_good_rows_land(app, tmp_path):
    path = write(
        tmp_path,
        [
            HEADER,
            f"G1,4,2,0,1,1,1,1,1,1,1,0,{FLAGS}",
            f"X1,4,2,NA,1,1,1,1,1,1,1,0,{FLAGS}",
            f"X2,4,two,0,1,1,1,1,1,1,1,0,{FLAGS}",
            f"X3,4,2,0,1,1,1,1,1,1,1,-1,{FLAGS}",
            "X4,4,2,0,1,1,1,1,1,1,1,0,No,0,1.5,0.9,0,No,No,No,Yes,No,No",
            "X5,4,2,0,1,1,1,1,1,1,1,0,No,0,0.9,0.9,0,Maybe,No,No,Yes,No,No",
            f"G1,5,2,0,1,1,1,1,1,1,1,0,{FLAGS}",
            f"{'L' * 101},4,2,0,1,1,1,1,1,1,1,0,{FLAGS}",
            f"G2,-2,NA,3,1,1,1,1,1,1,1,0,{FLAGS}",
        ],
    )

    result = import_snapshot(app, path)

    assert [str(e) for e in result.errors] == [
        "row 3, column in_transit_qty: NA (unknown) is not accepted here: a count is needed",
        "row 4, column lead_time: 'two' is not a whole number",
        "row 5, column min_bank: -1 is out of range (0 to 1000000000)",
        "row 6, column perf_6_month_avg: 1.5 is not a share between 0 and 1 (or -99, unknown)",
        "row 7, column deck_risk: 'Maybe' is not Yes or No",
        "row 8, column sku: SKU G1 is already on row 2",
        "row 9, column sku: must be 1 to 100 characters, no control characters or edge spaces",
    ]
    assert (result.rows_read, result.created, result.error_count) == (9, 2, 7)
    assert [p.sku for p in queries.products(app.uow)] == ["G1", "G2"]
    assert queries.check(app.uow) == []


def test_an_unnamed_index_column_is_ignored_and_the_label_may_be_missing(app, tmp_path):
    header = "," + HEADER.removesuffix(",went_on_backorder")
    path = write(tmp_path, [header, "0,A1,5,2,0,13,13,13,1,3,6,9,1,No,0,-99,NA,0,No,No,No,No,No"])

    result = import_snapshot(app, path)

    assert (result.created, result.error_count) == (1, 0)
    stored = snapshots.latest_snapshots(app.uow)["A1"]
    assert (stored.national_inv, stored.went_on_backorder) == (5, None)
    assert (stored.perf_6_month_avg, stored.perf_12_month_avg) == (None, None)


def test_a_file_lacking_a_required_column_is_unusable(tmp_path):
    path = write(tmp_path, ["sku,national_inv,lead_time", "A1,5,2"])

    with CsvFile(path) as source, pytest.raises(UnusableInput, match="in_transit_qty"):
        kaggle.parse(source, DAY)


def test_the_transit_supplier_is_found_again_not_duplicated(app, clock, tmp_path):
    purchasing.create_supplier(app.uow, snapshots.TRANSIT_SUPPLIER, clock())
    path = write(tmp_path, [HEADER, f"A1,5,2,7,13,13,13,1,3,6,9,1,{FLAGS}"])

    import_snapshot(app, path)

    assert [s.name for s in queries.suppliers(app.uow)] == ["Kaggle in-transit"]


def test_risk_ranks_on_live_figures_after_a_receipt(app, clock, tmp_path):
    path = write(
        tmp_path,
        [HEADER, f"A1,-4,1,0,91,13,13,1,3,6,9,0,{FLAGS}", f"B2,50,1,0,91,13,13,1,3,6,9,0,{FLAGS}"],
    )
    import_snapshot(app, path)
    assert [r.sku for r in risk.rank_skus(app.uow)] == ["A1", "B2"]

    stock.receive_stock(app.uow, "A1", "main", 100, clock(), reference="R1")

    [a1, b2] = sorted(risk.rank_skus(app.uow), key=lambda r: r.sku)
    assert (a1.on_hand, a1.allocated, a1.owed, a1.projected_balance) == (100, 4, 0, 89)
    assert b2.projected_balance == 43
    assert [r.sku for r in risk.rank_skus(app.uow, top=1)] == ["B2"]


# -- command line and HTTP ---------------------------------------------------------------------


@pytest.fixture
def run_cli(sqlite_app):
    url = str(sqlite_app.engine.url)
    cli.backend.cache_clear()

    def invoke(*args: str):
        return CliRunner().invoke(cli.app, ["--database-url", url, *args])

    yield invoke
    cli.backend.cache_clear()


def test_cli_imports_a_snapshot_and_ranks_the_risk(run_cli, tmp_path):
    path = write(
        tmp_path,
        [
            HEADER,
            f"A1,-4,1,0,91,13,13,1,3,6,9,0,{FLAGS}",
            f"B2,50,1,0,91,13,13,1,3,6,9,0,{FLAGS}",
            f"C3,x,1,0,91,13,13,1,3,6,9,0,{FLAGS}",
        ],
    )

    imported = run_cli("import-snapshot", str(path), "--snapshot-date", "2026-12-03")
    ranked = run_cli("risk", "--top", "1")
    as_json = run_cli("--json", "risk")

    assert imported.exit_code == 1, imported.output
    assert imported.output.splitlines() == [
        "row 4, column national_inv: 'x' is not a whole number",
        "snapshot.csv: rows read 3, created 2, updated 0, unchanged 0, skipped 0, errors 1",
    ]
    assert ranked.exit_code == 0, ranked.output
    assert ranked.output.splitlines()[1].split("\t")[:6] == ["1", "A1", "1.375", "11", "7", "-11"]
    assert [row["sku"] for row in json.loads(as_json.output)] == ["A1", "B2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--snapshot-date", "03/12/2026"], "give a date as YYYY-MM-DD"),
        ([], "lacks the column(s): lead_time"),
    ],
)
def test_cli_refuses_an_unusable_file_or_date_with_exit_2(run_cli, tmp_path, args, message):
    path = write(tmp_path, ["sku,national_inv,in_transit_qty,min_bank", "A1,1,0,0"])

    outcome = run_cli("import-snapshot", str(path), *args)

    assert outcome.exit_code == 2
    assert message in outcome.output


def test_http_risk_returns_the_top_rows(app, tmp_path):
    path = write(
        tmp_path,
        [HEADER, f"A1,-4,1,0,91,13,13,1,3,6,9,0,{FLAGS}", f"B2,50,1,0,91,13,13,1,3,6,9,0,{FLAGS}"],
    )
    import_snapshot(app, path)

    with TestClient(create_app(app, release_loop=False)) as client:
        top = client.get("/risk", params={"top": 1})
        refused = client.get("/risk", params={"top": 0})

    assert top.status_code == 200
    [row] = top.json()
    assert (row["rank"], row["sku"], row["projected_balance"], row["snapshot_date"]) == (
        1,
        "A1",
        -11,
        "2026-12-03",
    )
    assert refused.status_code == 422


def test_the_clock_date_is_the_snapshot_date_of_these_tests(clock):
    assert clock() == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_import_and_ranking_on_both_databases(any_app, tmp_path):
    path = write(
        tmp_path,
        [
            HEADER,
            f"A1,-4,1,3,91,13,13,1,3,6,9,0,{FLAGS}",
            f"B2,50,NA,0,91,13,13,1,200,6,9,5,{FLAGS}",
        ],
    )

    first = import_snapshot(any_app, path)
    again = import_snapshot(any_app, path)

    assert (first.created, again.unchanged) == (2, 2)
    rows = {r.sku: r for r in risk.rank_skus(any_app.uow)}
    assert (rows["A1"].owed, rows["A1"].in_transit, rows["A1"].projected_balance) == (4, 3, -8)
    # sales above forecast: (200 - 91) x 56 days / 91, rounded up
    assert (rows["B2"].lead_time_assumed, rows["B2"].sales_above_forecast) == (True, 68)
    assert snapshots.latest_snapshots(any_app.uow)["B2"].stop_auto_buy is True
    assert queries.check(any_app.uow) == []
