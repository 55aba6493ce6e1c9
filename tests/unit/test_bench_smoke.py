"""The benchmarks at a tiny size: they must stay correct. Timing is never asserted here."""

from bench import intake, restock


def test_restock_benchmark_allocates_every_waiting_line_and_breaks_no_invariant(tmp_path):
    result = restock.run(tmp_path, restock.RestockSize(skus=4, lines_per_sku=6))

    assert result.lines_allocated == result.lines == 24
    assert result.breaches == []


def test_intake_benchmark_places_orders_in_stock_and_on_backorder_correctly(tmp_path):
    result = intake.run(tmp_path, 300)

    assert 0 < result.waiting_orders < result.orders == 300
    assert result.breaches == []
