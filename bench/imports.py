"""Product import: a generated Shopify product CSV through `backorder import`'s own code path
(`cli_import.import_file`: parse, batch, write), rows per second and peak memory, with
`csv.reader` over the same file as the baseline measured in the same run.

Every measurement runs in a child process of its own, so that its peak RSS is its own (the
kernel's high-water mark of the child's memory, VmHWM: getrusage's ru_maxrss would carry
over the parent's peak across the exec, and `make bench` runs this after the restock has
grown it), and in turns, baseline then import, size by size. Memory must stay
flat as the file grows: the import's peak at the small and the large size are printed side
by side (and the baseline's, which holds one row at a time, as the floor).

`python -m bench.imports [--quick]` runs it alone: 100k and 1M rows (quick: 10k and 100k).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .common import REPO, scratch_dir

POLICIES = ("deny", "continue")


@dataclass(frozen=True)
class ImportSizes:
    small: int
    large: int


FULL = ImportSizes(small=100_000, large=1_000_000)
QUICK = ImportSizes(small=10_000, large=100_000)


@dataclass(frozen=True)
class Run:
    """One child's figures: rows, wall and CPU seconds, peak RSS in KiB."""

    rows: int
    seconds: float
    cpu_seconds: float  # a busy machine stretches the wall time, not this
    peak_kib: int

    @property
    def per_s(self) -> float:
        return self.rows / self.seconds


@dataclass(frozen=True)
class ImportBenchResult:
    small: Run
    large: Run
    baseline_small: Run
    baseline_large: Run

    @property
    def ratio(self) -> float:
        return self.large.per_s / self.baseline_large.per_s

    @property
    def memory_growth(self) -> float:
        return self.large.peak_kib / self.small.peak_kib

    def line(self) -> str:
        return (
            f"import: {self.large.rows:,} product rows at {self.large.per_s:,.0f} rows/s "
            f"({self.large.rows / self.large.cpu_seconds:,.0f} per CPU-second; "
            f"{self.small.rows:,} rows: {self.small.per_s:,.0f} rows/s), csv.reader "
            f"{self.baseline_large.per_s:,.0f} rows/s, ratio {self.ratio:.3f}; peak RSS "
            f"{_mib(self.small.peak_kib)} at {self.small.rows:,} rows, "
            f"{_mib(self.large.peak_kib)} at {self.large.rows:,} (x{self.memory_growth:.2f}; "
            f"csv.reader {_mib(self.baseline_small.peak_kib)} / "
            f"{_mib(self.baseline_large.peak_kib)})"
        )


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


def run(workdir: Path, sizes: ImportSizes) -> ImportBenchResult:
    runs = {}
    for name, rows in (("small", sizes.small), ("large", sizes.large)):
        path = write_catalog(workdir / f"catalog-{rows}.csv", rows)
        runs[f"baseline_{name}"] = _child("csv", path)
        runs[name] = _child("import", path, workdir / f"import-{rows}.db")
        path.unlink()
    return ImportBenchResult(**runs)


def write_catalog(path: Path, rows: int) -> Path:
    """A product CSV as Shopify writes it, one variant a row, about 200 bytes a row."""
    header = (
        "Handle,Title,Body (HTML),Vendor,Option1 Name,Option1 Value,Variant SKU,"
        "Variant Inventory Qty,Variant Inventory Policy,Variant Price,Status"
    )
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(header + "\r\n")
        for n in range(rows):
            out.write(
                f'product-{n},Product number {n},"<p>A fine thing, number {n}.</p>",Acme,'
                f"Title,Default Title,SKU-{n:08d},{n % 97},{POLICIES[n % 2]},"
                f"{n % 500}.{n % 100:02d},active\r\n"
            )
    return path


def _child(kind: str, *paths: Path) -> Run:
    """Run one measurement in a fresh interpreter; its JSON line is the figures."""
    command = [sys.executable, "-m", "bench.imports", "--child", kind, *map(str, paths)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench child {kind} failed:\n{done.stderr}")
    return Run(**json.loads(done.stdout.strip().splitlines()[-1]))


# -- the children -----------------------------------------------------------------------------


def _baseline(path: Path) -> tuple[int, float, float]:  # rows, wall and CPU seconds
    """What any import must at least do: read every row of the file with `csv.reader`."""
    import csv

    started, cpu = time.perf_counter(), time.process_time()
    with path.open(encoding="utf-8", newline="") as stream:
        rows = sum(1 for _ in csv.reader(stream)) - 1
    return rows, time.perf_counter() - started, time.process_time() - cpu


def _import(path: Path, database: Path) -> tuple[int, float, float]:
    from backorder.adapters.importers.shopify import ImportOptions
    from backorder.entrypoints.cli_import import import_file
    from backorder.service import queries

    from .common import build_app

    app = build_app(database)
    started, cpu = time.perf_counter(), time.process_time()
    result = import_file(app, path, ImportOptions(source=path.name), "shopify")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert (result.created, result.error_count) == (result.rows_read, 0), result.summary()
    assert queries.check(app.uow) == []
    app.close()
    return result.rows_read, seconds, cpu


def _child_main(kind: str, paths: list[str]) -> None:
    rows, seconds, cpu = _baseline(Path(paths[0])) if kind == "csv" else _import(*map(Path, paths))
    print(
        json.dumps({"rows": rows, "seconds": seconds, "cpu_seconds": cpu, "peak_kib": _peak_kib()})
    )


def _peak_kib() -> int:
    """This process's own peak resident memory in KiB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # no /proc: the nearest figure


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k and 100k rows")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child_main(args.child[0], args.child[1:])
        return
    with scratch_dir() as workdir:
        print(run(workdir, QUICK if args.quick else FULL).line(), flush=True)


if __name__ == "__main__":
    main()
