"""The import benchmark at a tiny size: it must stay correct. Timing is never asserted here."""

from bench import imports


def test_import_benchmark_imports_every_generated_row_and_measures_both_sizes(tmp_path):
    result = imports.run(tmp_path, imports.ImportSizes(small=50, large=200))

    assert (result.small.rows, result.large.rows) == (50, 200)
    assert (result.baseline_small.rows, result.baseline_large.rows) == (50, 200)
    assert result.large.peak_kib > 0 and result.ratio > 0
    assert "200 product rows" in result.line()


def test_a_childs_peak_memory_is_its_own_not_the_benchmark_processs(tmp_path):
    """`make bench` runs the import after phases that grew its process to ~500 MiB; the
    children reported that peak (ru_maxrss survives the exec) instead of their own."""
    small = imports.write_catalog(tmp_path / "p.csv", 20)
    ballast = bytearray(400 * 1024 * 1024)  # this process's peak: 400 MiB and more
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched, so resident
    baseline = imports._child("csv", small)

    assert baseline.rows == 20
    assert baseline.peak_kib < 200 * 1024, baseline.peak_kib
    del ballast
