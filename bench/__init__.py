"""Benchmarks: each prints its figure next to a raw sqlite3 baseline measured in the same run."""
