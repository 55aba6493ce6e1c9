"""The Tryton peer benchmark: the same workload file through Tryton and through our service.

The workload is written by /work/shared/peers/workload.py (or $BACKORDER_PEER_DIR/workload.py):
orders of 1-3 distinct products, initial stock short by ~40 % of each product's demand, then
a restock of ceil(waiting / 2) units per product. Tryton's `run.py` has no option to read a
workload file; it draws the same workload from the same parameters and seed (its
`make_workload` makes exactly the draws workload.py makes), so both sides get the same
parameters and we read the file.

Our side, on SQLite with the service's durability (WAL, synchronous=FULL, BEGIN IMMEDIATE):

  intake   every order, in list order, one transaction each, through
           `service.orders.place_order` (allocation happens at placement: there is no
           separate assign pass to run);
  restock  the whole restock as one delivery through `service.deliveries.receive_delivery`
           (one transaction, as Tryton receives one supplier shipment), which hands the
           units to the waiting lines of every product in the same transaction.

Figures: intake orders/s (Tryton: T1, intake plus its assign cron), restock backorder lines
allocated/s and units/s (Tryton: T2, receive plus its assign cron), and the ratios.

`python -m bench.peer` runs both; `--tryton-json FILE` reuses a Tryton result instead of
running Tryton (it takes about 20 minutes at the default size, with one transaction per order).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from backorder.service import deliveries, orders, queries

from .common import REPO, START, build_app, raw_connect, scratch_dir, sql_time
from .seed import add_products, add_stock

PEER_DIR = Path(os.environ.get("BACKORDER_PEER_DIR", "/work/shared/peers"))
PEER_PYTHON = REPO / "bench" / ".peer-venv" / "bin" / "python"
WAREHOUSE = "main"
INSERT_CUSTOMER = (
    "INSERT INTO customers (id, external_id, name, email, tier, default_fulfilment, locale, "
    "created_at) VALUES (?, ?, ?, ?, 'standard', 'ship_partial', 'en', ?)"
)  # one tier for all: Tryton serves waiting shipments first come, first served


# -- our side ---------------------------------------------------------------------------------


def run_ours(workload_path: str | Path, workdir: Path | None = None) -> dict:
    """Intake then restock of the workload through the service; figures and checks as a dict."""
    work = json.loads(Path(workload_path).read_text())
    if workdir is None:
        with scratch_dir() as scratch:
            return run_ours(workload_path, scratch)
    path = workdir / "peer-service.db"
    intake_at = START
    # the same day, as Tryton runs both phases: a later day would also re-date every line
    # left on a lead-time estimate (and ask those customers), work Tryton has no part of
    restock_at = START + timedelta(hours=1)
    now = [intake_at]
    app = build_app(path, clock=lambda: now[0])
    customer_ids = _seed(path, work)

    commands = [
        orders.PlaceOrder(
            customer_ids[o["customer"]],
            [orders.OrderLineIn(line["sku"], line["qty"]) for line in o["lines"]],
            external_ref=o["ref"],
        )
        for o in work["orders"]
    ]
    started = time.perf_counter()
    for index, cmd in enumerate(commands):
        orders.place_order(app.uow, cmd, intake_at + timedelta(milliseconds=index))
    intake_s = time.perf_counter() - started
    after_intake = _positions(app)

    now[0] = restock_at
    receipts = list(work["restock"].items())
    delivery = [deliveries.DeliveryLine(sku, WAREHOUSE, qty) for sku, qty in receipts]
    started = time.perf_counter()
    result = deliveries.receive_delivery(app.uow, delivery, restock_at, reference="restock")
    restock_s = time.perf_counter() - started
    after_restock = _positions(app)
    breaches = queries.check(app.uow)
    placed = _count(app, "SELECT count(*) FROM orders")
    app.close()

    demand: dict[str, int] = defaultdict(int)
    for o in work["orders"]:
        for line in o["lines"]:
            demand[line["sku"]] += line["qty"]
    on_hand2 = {
        sku: qty + work["restock"].get(sku, 0) for sku, qty in work["initial_stock"].items()
    }
    checks = {
        "orders_placed": placed == len(commands),
        # allocated == min(on hand, demand) per product, as Tryton's check: no unit idle
        # while a line of the product waits, none promised twice
        "after_intake": all(
            after_intake["allocated"].get(sku, 0) == min(work["initial_stock"][sku], demand[sku])
            for sku in work["products"]
        ),
        "after_restock": all(
            after_restock["allocated"].get(sku, 0) == min(on_hand2[sku], demand[sku])
            for sku in work["products"]
        ),
        "invariants": breaches == [],
    }
    lines_served, units = result["lines_served"], result["allocated_to_lines"]
    return {
        "orders": len(commands),
        "lines": sum(len(o["lines"]) for o in work["orders"]),
        "intake_seconds": intake_s,
        "intake_orders_per_s": len(commands) / intake_s,
        "after_intake": after_intake["totals"],
        "restock_seconds": restock_s,
        "received_units": sum(work["restock"].values()),
        "restocked_products": len(receipts),
        "backorder_lines_before": after_intake["totals"]["waiting_lines"],
        "backorder_lines_allocated": lines_served,
        "allocated_units": units,
        "restock_lines_per_s": lines_served / restock_s,
        "restock_units_per_s": units / restock_s,
        "breaches": [str(b) for b in breaches],
        "checks": checks,
        "ok": all(checks.values()),
    }


def _seed(path: Path, work: dict) -> dict[str, int]:
    """Products (backorders allowed), customers and the initial stock in the warehouse."""
    conn = raw_connect(path)
    stamp = sql_time(START)
    conn.execute("BEGIN IMMEDIATE")
    add_products(conn, work["products"], START)
    ids = {code: n for n, code in enumerate(work["customers"], start=1)}
    conn.executemany(
        INSERT_CUSTOMER,
        [
            (n, code, f"Customer {code}", f"{code.lower()}@example.com", stamp)
            for code, n in ids.items()
        ],
    )
    add_stock(conn, [(sku, WAREHOUSE, qty) for sku, qty in work["initial_stock"].items()], START)
    conn.execute("COMMIT")
    conn.close()
    return ids


def _count(app, sql: str) -> int:
    with app.engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar_one()


def _positions(app) -> dict:
    with app.engine.connect() as conn:
        allocated = dict(
            conn.exec_driver_sql("SELECT sku, sum(allocated) FROM stock GROUP BY sku").all()
        )
        row = conn.exec_driver_sql(
            "SELECT sum(allocated), sum(backordered), "
            "sum(CASE WHEN backordered = 0 THEN 1 ELSE 0 END), "
            "sum(CASE WHEN backordered > 0 AND allocated > 0 THEN 1 ELSE 0 END), "
            "sum(CASE WHEN allocated = 0 THEN 1 ELSE 0 END), "
            "sum(CASE WHEN backordered > 0 THEN 1 ELSE 0 END) FROM order_lines"
        ).one()
    keys = (
        "allocated_units",
        "waiting_units",
        "lines_full",
        "lines_partial",
        "lines_none",
        "waiting_lines",
    )
    return {"allocated": allocated, "totals": dict(zip(keys, row, strict=True))}


# -- both sides -------------------------------------------------------------------------------


def write_workload(path: Path, orders_: int, products: int, customers: int) -> Path:
    args = ["--orders", str(orders_), "--products", str(products), "--customers", str(customers)]
    with path.open("w") as out:
        subprocess.run(
            [sys.executable, str(PEER_DIR / "workload.py"), *args], stdout=out, check=True
        )
    return path


def run_tryton(work: dict, json_path: Path, python: Path = PEER_PYTHON, batch: int = 1) -> dict:
    """Tryton's own run.py with the workload's parameters; its --json result."""
    p = work["params"]
    args = [
        "--orders",
        p["orders"],
        "--products",
        p["products"],
        "--customers",
        p["customers"],
        "--shortfall",
        p["shortfall"],
        "--max-qty",
        p["max_qty"],
        "--seed",
        p["seed"],
        "--batch",
        batch,
        "--json",
        json_path,
    ]
    # its database stays where its trytond.conf says (/tmp/tryton_db): trytond-admin, which
    # builds the template on the first run, reads the path from there, not from --db-dir
    subprocess.run(
        [str(python), str(PEER_DIR / "tryton" / "run.py"), *map(str, args)],
        check=True,
        stdout=subprocess.DEVNULL if os.environ.get("QUIET") else None,
    )
    return json.loads(json_path.read_text())


def comparison(ours: dict, tryton: dict) -> list[str]:
    t1, t2 = tryton["T1"], tryton["T2"]
    intake_ratio = ours["intake_orders_per_s"] / t1["orders_per_s"]
    lines_ratio = ours["restock_lines_per_s"] / t2["lines_per_s"]
    tryton_units_s = t2["allocated_units"] / t2["seconds"]
    units_ratio = ours["restock_units_per_s"] / tryton_units_s
    return [
        f"peer workload: {ours['orders']:,} orders, {ours['lines']:,} lines; "
        f"Tryton --batch {tryton['args']['batch']}",
        f"intake: backorder {ours['intake_orders_per_s']:,.0f} orders/s, Tryton "
        f"{t1['orders_per_s']:,.2f} orders/s (T1 with its assign cron; intake alone "
        f"{t1['intake_orders_per_s']:,.2f}), ratio {intake_ratio:,.0f}x (target >= 100x)",
        f"restock: backorder {ours['restock_lines_per_s']:,.0f} backorder lines/s "
        f"({ours['backorder_lines_allocated']:,} lines, {ours['allocated_units']:,} units in "
        f"{ours['restock_seconds']:.3f} s), Tryton {t2['lines_per_s']:,.2f} lines/s "
        f"({t2['backorder_lines_allocated']:,} lines, {t2['allocated_units']:g} units in "
        f"{t2['seconds']:.1f} s), ratio {lines_ratio:,.0f}x (target >= 1000x); units/s "
        f"{ours['restock_units_per_s']:,.0f} vs {tryton_units_s:,.1f}, ratio {units_ratio:,.0f}x",
        f"same outcome: units allocated after intake {ours['after_intake']['allocated_units']:,}"
        f" (Tryton {t1['assigned_qty']:g}), backorder lines before restock "
        f"{ours['backorder_lines_before']:,} (Tryton {t2['backorder_lines_before']:,}); "
        f"our checks {'ok' if ours['ok'] else ours['checks']}, Tryton's {tryton['checks']}",
    ]


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"machine: {os.cpu_count()} cores, load average {one:.1f} / {five:.1f} / {fifteen:.1f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.peer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1, help="Tryton's orders per transaction")
    parser.add_argument("--workload", type=Path, help="use this workload file (else written)")
    parser.add_argument("--tryton-json", type=Path, help="reuse this Tryton result")
    parser.add_argument("--ours-only", action="store_true")
    parser.add_argument("--python", type=Path, default=PEER_PYTHON, help="Tryton's python")
    args = parser.parse_args(argv)
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    tag = f"o{args.orders}_p{args.products}_c{args.customers}"
    workload = args.workload or write_workload(
        out / f"peer-workload-{tag}.json", args.orders, args.products, args.customers
    )
    work = json.loads(workload.read_text())
    print(load_line(), f"python {platform.python_version()}", flush=True)
    ours = run_ours(workload)
    (out / f"peer-ours-{tag}.json").write_text(json.dumps(ours, indent=2))
    print(
        f"ours: intake {ours['intake_orders_per_s']:,.0f} orders/s, restock "
        f"{ours['restock_lines_per_s']:,.0f} lines/s; checks {ours['checks']}",
        flush=True,
    )
    if args.ours_only:
        return
    if args.tryton_json:
        tryton = json.loads(args.tryton_json.read_text())
    else:
        tryton = run_tryton(
            work, out / f"peer-tryton-{tag}-b{args.batch}.json", args.python, args.batch
        )
    if tryton["args"]["orders"] != len(work["orders"]) or (
        tryton["args"]["seed"] != work["params"]["seed"]
    ):
        raise SystemExit("the Tryton result is for another workload")
    print(load_line(), flush=True)
    for line in comparison(ours, tryton):
        print(line, flush=True)
    if not ours["ok"]:
        raise SystemExit(f"our side failed its checks: {ours['checks']}")


if __name__ == "__main__":
    main()
