"""The promised-dates benchmark at a tiny size: it must stay correct. Timing is never asserted."""

from bench import promises


def test_promises_benchmark_promises_every_line_and_repromises_only_the_moved_sku(tmp_path):
    size = promises.PromiseSize(
        skus=6, lines_per_sku=4, incremental_trials=5, command_trials=3, quote_calls=5
    )

    result = promises.measure(tmp_path, size)  # asserts what must hold, as it goes

    assert sum(result.bases.values()) == size.lines == 24
    assert set(result.bases) <= {"purchase_order", "lead_time"}
    assert len(result.lines()) == 3
