"""The import benchmark at a tiny size: it must stay correct. Timing is never asserted here."""

from bench import imports


def test_import_benchmark_imports_every_generated_row_and_measures_both_sizes(tmp_path):
    result = imports.run(tmp_path, imports.ImportSizes(small=50, large=200))

    assert (result.small.rows, result.large.rows) == (50, 200)
    assert (result.baseline_small.rows, result.baseline_large.rows) == (50, 200)
    assert result.large.peak_kib > 0 and result.ratio > 0
    assert "200 product rows" in result.line()
