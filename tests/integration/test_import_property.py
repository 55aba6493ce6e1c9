"""Generated Shopify product CSVs, as untidy as real ones: whatever the file, the import never
crashes, never applies a bad row, and reports each bad row once, on its own line number.

Each generated file mixes good rows with rows carrying exactly one defect (a quantity or a
price that is not one, no SKU and no handle to make one from, a SKU or a name too long for the
catalog, a cell beyond the CSV field limit), under random quoting, an optional BOM, LF / CRLF /
CR line ends, blank lines and quoted cells spanning lines. The oracle numbers each record by
the file line it starts on, exactly as the importer promises.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backorder.adapters.importers.shopify import ImportOptions
from backorder.bootstrap import build
from backorder.config import Settings
from backorder.entrypoints.cli_import import import_file
from backorder.service import bulk_imports, queries

HEADER = [
    "Handle",
    "Title",
    "Variant SKU",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Price",
    "Body (HTML)",
]
DEFECTS = {  # defect: the cells it replaces, drawn from these
    "quantity": {"Variant Inventory Qty": ["lots", "1.5", "1e3", "--1", "2000000000", "½"]},
    "price": {"Variant Price": ["ten", "-5", "1,5", "", "12.3.4", "99999999999"]},
    "no sku": {"Variant SKU": [""], "Handle": [""]},
    "long sku": {"Variant SKU": ["S" * 101, "sku-" + "x" * 140]},
    "long name": {"Title": ["N" * 301, "Ürün " * 70]},
    "huge cell": {"Body (HTML)": ["<p>" + "y" * 140_000 + "</p>"]},
}
SKU_TAIL = st.text("ABCxyz019_-", max_size=8)
ENDINGS = {"LF": "\n", "CRLF": "\r\n", "CR": "\r"}
TEXT = (
    st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(bool)
)


@dataclass(frozen=True)
class Record:
    cells: dict[str, str]
    defect: str | None  # None: a good row

    @property
    def lines(self) -> int:
        """File lines the record spans: its embedded line breaks, plus one."""
        return 1 + sum(cell.count("\n") for cell in self.cells.values())


@st.composite
def records(draw, index: int) -> Record:
    quantity = draw(
        st.one_of(
            st.integers(0, 500).map(str), st.just(""), st.just("3.0"), st.integers(-3, -1).map(str)
        )
    )
    cells = {
        "Handle": f"h{index}",
        "Title": draw(TEXT),
        "Variant SKU": f"S{index}-{draw(SKU_TAIL)}",
        "Variant Inventory Qty": quantity,
        "Variant Inventory Policy": draw(st.sampled_from(["deny", "continue", "", "DENY"])),
        "Variant Price": draw(st.sampled_from(["10", "9.99", "0", "12.5", "1000000"])),
        "Body (HTML)": draw(st.sampled_from(["", "plain", "two\nlines", 'say "hi",\nthen\nbye'])),
    }
    defect = draw(st.sampled_from([None] * 6 + sorted(DEFECTS)))
    if defect is not None:
        for column, values in DEFECTS[defect].items():
            cells[column] = draw(st.sampled_from(values))
        if defect == "huge cell":
            cells["Variant Inventory Qty"] = "1"  # the row is good but for its size
    return Record(cells, defect)


@st.composite
def csv_files(draw) -> tuple[bytes, list[Record], dict[int, Record]]:
    """The file's bytes, its records, and each record by the line it starts on."""
    count = draw(st.integers(1, 25))
    recs = [draw(records(index)) for index in range(count)]
    ending = ENDINGS[draw(st.sampled_from(sorted(ENDINGS)))]
    rnd = draw(st.randoms(use_true_random=False))
    lines, by_line, line = [_line(HEADER, rnd)], {}, 2
    for rec in recs:
        while rnd.random() < 0.15:  # blank lines are not rows, but they are lines
            lines.append("")
            line += 1
        by_line[line] = rec
        lines.append(_line([rec.cells[column] for column in HEADER], rnd))
        line += rec.lines
    text = ending.join(lines) + (ending if rnd.random() < 0.8 else "")
    bom = b"\xef\xbb\xbf" if rnd.random() < 0.5 else b""
    return bom + text.encode("utf-8"), recs, by_line


def _line(cells: list[str], rnd: random.Random) -> str:
    return ",".join(_quoted(cell, rnd) for cell in cells)


def _quoted(cell: str, rnd: random.Random) -> str:
    """Quoted when it must be, and at random when it need not be."""
    if any(c in cell for c in ',"\r\n') or rnd.random() < 0.3:
        return '"' + cell.replace('"', '""') + '"'
    return cell


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    build(Settings(database_url=f"sqlite:///{path}")).close()
    return path


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(bulk_imports, "BATCH", 7)  # batches end mid-file


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(generated=csv_files())
def test_any_file_imports_its_good_rows_and_reports_each_bad_row_once(
    template_db, small_batches, generated
):
    content, recs, by_line = generated
    with tempfile.TemporaryDirectory() as work:
        database, path = Path(work) / "db.sqlite", Path(work) / "generated.csv"
        shutil.copyfile(template_db, database)
        path.write_bytes(content)
        app = build(Settings(database_url=f"sqlite:///{database}"), migrate=False)
        try:
            result = import_file(app, path, ImportOptions(source=path.name), "shopify")
            assert_outcome(app, result, recs, by_line)
        finally:
            app.close()


def assert_outcome(app, result, recs: list[Record], by_line: dict[int, Record]) -> None:
    bad_rows = sorted(line for line, rec in by_line.items() if rec.defect)
    assert sorted(error.row for error in result.errors) == bad_rows, result.errors
    assert result.error_count == len(bad_rows)
    assert result.rows_read == len(recs)
    good = [rec for rec in recs if rec.defect is None]
    products = queries.products(app.uow, limit=1000)
    assert sorted(p.sku for p in products) == sorted(rec.cells["Variant SKU"] for rec in good)
    on_hand = {s.sku: s.on_hand for s in queries.stock(app.uow)}
    for rec in good:
        counted = rec.cells["Variant Inventory Qty"]
        expected = None if counted == "" else max(0, int(float(counted)))
        assert on_hand.get(rec.cells["Variant SKU"]) == expected
    assert queries.check(app.uow) == []
