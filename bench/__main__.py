"""`python -m bench [--quick]`: order intake and restock allocation, each with its ratio to
a raw sqlite3 loop doing the same statements, measured in the same run; then product import,
promised dates (issue 7) and PostgreSQL intake (skipped without PostgreSQL binaries)."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from . import imports, intake, postgres, promises, restock
from .common import scratch_dir


@dataclass(frozen=True)
class Sizes:
    orders: int
    restock: restock.RestockSize
    imports: imports.ImportSizes


FULL = Sizes(
    orders=10_000,
    restock=restock.RestockSize(skus=1_000, lines_per_sku=100),
    imports=imports.FULL,
)
QUICK = Sizes(
    orders=2_000,
    restock=restock.RestockSize(skus=100, lines_per_sku=100),
    imports=imports.QUICK,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    quick = parser.parse_args(argv).quick
    sizes = QUICK if quick else FULL
    started = time.perf_counter()
    with scratch_dir() as workdir:
        print(f"SQLite files in {workdir} (WAL, synchronous=FULL, BEGIN IMMEDIATE)", flush=True)
        print(intake.run(workdir, sizes.orders).line(), flush=True)
        print(restock.run(workdir, sizes.restock).line(), flush=True)
        print(imports.run(workdir, sizes.imports).line(), flush=True)
        promises.run(workdir, quick)  # prints its own lines
    try:
        postgres.run(quick)  # prints its own lines
    except (RuntimeError, FileNotFoundError) as error:
        print(f"postgres: skipped ({error})", flush=True)
    print(f"bench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
