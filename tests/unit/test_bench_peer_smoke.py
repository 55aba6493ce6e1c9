"""Our side of the Tryton peer benchmark at a tiny size: correct, never timed."""

import json

from bench import peer


def test_peer_benchmark_places_every_order_and_hands_out_every_unit(tmp_path):
    workload = tmp_path / "workload.json"
    if (peer.PEER_DIR / "workload.py").exists():
        peer.write_workload(workload, orders_=40, products=6, customers=5)
    else:  # the shared peer folder is not mounted: a hand-written workload of the same shape
        workload.write_text(json.dumps(_tiny_workload()))
    work = json.loads(workload.read_text())

    result = peer.run_ours(workload, tmp_path)

    assert result["orders"] == len(work["orders"])
    assert result["checks"] == {
        "orders_placed": True,
        "after_intake": True,
        "after_restock": True,
        "invariants": True,
    }
    assert result["breaches"] == []
    assert result["allocated_units"] == sum(work["restock"].values())
    assert result["backorder_lines_allocated"] > 0


def _tiny_workload() -> dict:
    orders = [
        {
            "ref": f"O{i:06d}",
            "customer": f"C{i % 3:03d}",
            "lines": [
                {"sku": f"P{i % 4:04d}", "qty": 1 + i % 3},
                {"sku": f"P{(i + 1) % 4:04d}", "qty": 2},
            ],
        }
        for i in range(20)
    ]
    demand: dict[str, int] = {}
    for order in orders:
        for line in order["lines"]:
            demand[line["sku"]] = demand.get(line["sku"], 0) + line["qty"]
    stock = {sku: int(qty * 0.6) for sku, qty in demand.items()}
    return {
        "params": {"orders": 20, "seed": 0},
        "products": sorted(demand),
        "customers": [f"C{c:03d}" for c in range(3)],
        "initial_stock": stock,
        "orders": orders,
        "restock": {sku: -(-(demand[sku] - stock[sku]) // 2) for sku in demand},
    }
