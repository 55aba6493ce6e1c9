"""The web app in a real browser (Debian's chromium through Playwright) against a real
`backorder serve` process: one server and one browser for the module.

The shop is seeded with 40 days of history before the server starts (a fake clock for the
past; the server then runs on real time). With BACKORDER_WRITE_SCREENSHOTS=1 the tests also
write the README's screenshots to docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from backorder.bootstrap import build
from backorder.config import Settings
from backorder.domain.model import BackorderPolicy, Fulfilment, Product, Tier
from backorder.service import catalog, orders, purchasing, stock
from tests.conftest import FakeClock
from tests.e2e.test_server_process import BIN, _free_port, _wait_until_up, cli

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a long admin password"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


# -- demo data: what a shop looks like after six weeks ------------------------------------------


def seed(database_url: str) -> dict:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=40))
    app = build(Settings(database_url=database_url), clock=clock)
    try:
        return _history(app, clock)
    finally:
        app.close()


def _catalog(app, clock) -> dict:
    uow = app.uow
    catalog.save_warehouse(uow, "izmir", "İzmir depot", 1)
    for sku, name, price in (
        ("MUG-ENAMEL", "Enamel mug", 1250),
        ("TEAPOT-CAST", "Cast-iron teapot", 5400),
        ("KETTLE-STEEL", "Steel kettle", 3900),
        ("CUP-TIN", "Tin cup", 650),
    ):
        catalog.save_product(uow, Product(sku, name, price, "EUR", BackorderPolicy.ALLOW), clock())
    people = {}
    for name, tier, locale in (
        ("Ayşe Kaya", Tier.STANDARD, "tr"),
        ("Ben Ortiz", Tier.STANDARD, "en"),
        ("Cafe Lale", Tier.PRIORITY, "tr"),
        ("Delta Hotels", Tier.CRITICAL, "en"),
        ("Emre Şahin", Tier.STANDARD, "tr"),
    ):
        people[name] = catalog.create_customer(
            uow, catalog.CustomerIn(name, tier=tier, locale=locale), clock()
        ).id
    supplier = purchasing.create_supplier(
        uow, purchasing.SupplierIn("Anatolia Metalworks", 12, "EUR"), clock()
    )
    return {"customers": people, "supplier": supplier.id}


FIRST_ORDERS = [
    ("Ben Ortiz", [("MUG-ENAMEL", 4)]),
    ("Cafe Lale", [("TEAPOT-CAST", 3)]),
    ("Ayşe Kaya", [("MUG-ENAMEL", 6), ("CUP-TIN", 4)]),
    ("Delta Hotels", [("MUG-ENAMEL", 8), ("KETTLE-STEEL", 5)]),
    ("Emre Şahin", [("TEAPOT-CAST", 1)]),
]


def _history(app, clock) -> dict:
    """Orders over 30 days, receipts, a purchase order whose date slipped, one ship-complete."""
    uow, facts = app.uow, _catalog(app, clock)

    def buy(name, *lines, fulfilment=None):
        lines = [orders.OrderLineIn(s, q) for s, q in lines]
        cmd = orders.PlaceOrder(facts["customers"][name], lines, fulfilment)
        return orders.place_order(uow, cmd, clock())

    for sku, warehouse, qty in (("MUG-ENAMEL", "main", 12), ("CUP-TIN", "izmir", 30)):
        stock.receive_stock(uow, sku, warehouse, qty, clock(), f"delivery-{sku}")
    stock.receive_stock(uow, "TEAPOT-CAST", "main", 2, clock(), "delivery-TEAPOT-CAST")
    for day, (name, lines) in enumerate(FIRST_ORDERS):
        clock.advance(days=4 + day)
        buy(name, *lines)
    _purchase_order_that_slips(app, clock, facts["supplier"])
    stock.receive_stock(uow, "KETTLE-STEEL", "main", 3, clock(), "delivery-kettles")
    stock.receive_stock(uow, "TEAPOT-CAST", "izmir", 1, clock(), "delivery-teapot")
    buy("Ben Ortiz", ("CUP-TIN", 2), ("TEAPOT-CAST", 2), fulfilment=Fulfilment.SHIP_COMPLETE)
    clock.advance(days=2)
    return facts


def _purchase_order_that_slips(app, clock, supplier_id: int) -> None:
    """Teapots in two deliveries; the mugs' date moves later five days after the order."""
    today = datetime.now(UTC).date()
    lines = [
        purchasing.PoLineIn("TEAPOT-CAST", 3, today + timedelta(days=6)),
        purchasing.PoLineIn("TEAPOT-CAST", 6, today + timedelta(days=18)),
        purchasing.PoLineIn("MUG-ENAMEL", 10, today + timedelta(days=4)),
    ]
    po = purchasing.create_purchase_order(app.uow, supplier_id, lines, clock())
    clock.advance(days=5)
    later = today + timedelta(days=12)
    purchasing.change_expected_date(app.uow, po.lines[2].id, later, clock())


# -- the server and the browser ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    env = dict(
        os.environ,
        BACKORDER_DATABASE_URL=f"sqlite:///{folder / 'shop.db'}",
        BACKORDER_API_AUTH="false",
    )
    subprocess.run([BIN, "migrate"], env=env, check=True, capture_output=True)
    facts = seed(env["BACKORDER_DATABASE_URL"])
    added = cli(env, "user", "add", "admin", "--role", "admin", "--password", PASSWORD)
    assert added.returncode == 0, added.stderr
    port = _free_port()
    process = subprocess.Popen(
        [BIN, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    _wait_until_up(base, process)
    yield base, env, facts
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        if os.environ.get("CI") == "true":
            raise FileNotFoundError(f"{CHROMIUM} is required in CI (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def operator_page(server, browser):
    """One logged-in page for the operator tests, logged in with the keyboard alone."""
    base, *_ = server
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/ui/")
    assert page.url.endswith("/ui/login?next=/ui/")
    page.get_by_label("User name").focus()
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/ui/")
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    if os.environ.get("BACKORDER_WRITE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def place_order(base: str, customer_id: int, sku: str, qty: int) -> dict:
    body = {"customer_id": customer_id, "lines": [{"sku": sku, "qty": qty}]}
    response = httpx.post(f"{base}/orders", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


# -- the tests ---------------------------------------------------------------------------------


def test_a_new_order_shows_up_as_a_backorder_on_the_dashboard_and_in_the_queue(
    server, operator_page
):
    base, _, facts = server
    page = operator_page
    assert page.title() == "Dashboard · backorder"
    before = int(page.locator("#open-lines .big").inner_text())
    assert before > 0 and page.locator("svg#ageing rect.bar").count() == 4
    screenshot(page, "dashboard")

    order = place_order(base, facts["customers"]["Emre Şahin"], "KETTLE-STEEL", 2)
    assert order["status"] == "backordered"
    page.reload()
    assert int(page.locator("#open-lines .big").inner_text()) == before + 1
    page.get_by_role("link", name="Queue", exact=True).click()
    page.get_by_label("SKU").fill("KETTLE-STEEL")
    page.get_by_role("button", name="Filter").click()
    row = page.locator(f"tr:has(a[href='/ui/orders/{order['id']}'])")
    assert "Emre Şahin" in row.inner_text() and row.locator(".position").inner_text() == "2"


def test_receiving_stock_allocates_the_waiting_line_and_the_chart_changes(server, operator_page):
    base, _, facts = server
    page = operator_page
    order = place_order(base, facts["customers"]["Ben Ortiz"], "CUP-TIN", 36)  # 24 free: 12 wait
    page.goto("/ui/skus/CUP-TIN")
    waiting_before = int(page.locator("svg#timephased").get_attribute("data-waiting"))
    assert waiting_before >= 12

    page.get_by_role("link", name="Receive stock").click()
    page.get_by_label("SKU").fill("CUP-TIN")
    page.get_by_label("Warehouse").select_option("izmir")
    page.get_by_label("Units received").first.fill("12")
    page.get_by_role("button", name="Preview").first.click()
    assert "lines will be allocated" in page.locator("#preview-summary").inner_text()
    assert page.locator("#preview-table").get_by_text("Ben Ortiz").count() >= 1
    page.get_by_role("button", name="Confirm the receipt").click()
    served = page.locator("#served-table")
    assert served.locator(f"a[href='/ui/orders/{order['id']}']").count() >= 1

    page.goto("/ui/skus/CUP-TIN")
    assert int(page.locator("svg#timephased").get_attribute("data-waiting")) == waiting_before - 12
    page.goto(f"/ui/orders/{order['id']}")
    assert page.locator(".line-state").first.inner_text() == "Allocated"


def test_the_sku_page_shows_supply_against_demand_and_the_log(server, operator_page):
    page = operator_page
    page.goto("/ui/skus/TEAPOT-CAST")
    chart = page.locator("svg#timephased")
    assert chart.get_attribute("role") == "img" and chart.locator("path.line").count() == 2
    assert page.locator("#allocation-log tbody tr:has(a)").count() >= 2  # order and receipt
    assert page.get_by_role("heading", name="Incoming purchase-order lines").is_visible()
    screenshot(page, "sku")
    page.get_by_role("link", name="Türkçe").click()
    assert page.get_by_role("heading", name="Depoya göre stok").is_visible()
    page.get_by_role("link", name="English").click()


def test_a_customer_page_cannot_show_another_customers_order(server, browser):
    base, env, facts = server
    people = facts["customers"]
    own = place_order(base, people["Ayşe Kaya"], "TEAPOT-CAST", 1)
    other = place_order(base, people["Delta Hotels"], "TEAPOT-CAST", 1)
    link = cli(env, "customer-link", str(people["Ayşe Kaya"])).stdout.strip()
    path = re.sub(r"^https?://[^/]+", "", link)
    phone = browser.new_context(base_url=base, viewport={"width": 390, "height": 844})
    page = phone.new_page()
    page.goto(path)
    assert page.title().startswith("Siparişleriniz")  # Ayşe's own language
    page.get_by_role("link", name=f"Sipariş #{own['id']}").click()
    assert page.get_by_role("heading", name=f"Sipariş #{own['id']}").is_visible()

    tampered = page.goto(f"{path}/orders/{other['id']}")
    assert tampered.status == 404 and "Bulunamadı" in page.content()
    page.goto(f"{path}/orders/{own['id']}")
    page.get_by_role("button", name=re.compile("Bu ürünü iptal et")).click()
    assert page.get_by_role("status").first.inner_text() == "Satır iptal edildi."
    phone.close()
