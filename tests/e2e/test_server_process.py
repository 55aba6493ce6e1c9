"""The real thing: a `backorder serve` process, the CLI in other processes, HTTP in between."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import shared_file

BIN = Path(sys.executable).parent / "backorder"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    env = dict(os.environ, BACKORDER_DATABASE_URL=f"sqlite:///{tmp_path / 'shop.db'}")
    subprocess.run([BIN, "migrate"], env=env, check=True, capture_output=True)
    port = _free_port()
    process = subprocess.Popen(
        [BIN, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    _wait_until_up(base, process)
    yield base, env
    process.terminate()
    process.wait(timeout=20)


def _wait_until_up(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stdout.read().decode())
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError("server did not start")


def cli(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, *args], env=env, capture_output=True, text=True, timeout=120)


def test_import_order_until_backorder_receive_and_read_the_log(server):
    base, env = server
    catalog = cli(env, "import", str(shared_file("shopify/apparel.csv")))
    assert catalog.returncode == 0, catalog.stdout + catalog.stderr
    orders = cli(
        env,
        "import",
        "--create-products",
        str(shared_file("shopify-orders-export/orders_export_1.csv")),
    )
    assert orders.returncode == 0, orders.stdout + orders.stderr
    http = httpx.Client(base_url=base, timeout=30)
    assert len(http.get("/orders", params={"limit": 1000}).json()) == 51

    sku = "E2E-HOODIE"
    http.post(
        "/products",
        json={"sku": sku, "name": "Hoodie", "price_minor": 4500, "backorder_policy": "allow"},
    )
    assert cli(env, "receive", sku, "3", "--reference", "first-stock").returncode == 0
    ann = http.post("/customers", json={"name": "Ann"}).json()["id"]
    vip = http.post("/customers", json={"name": "Vip", "tier": "critical"}).json()["id"]
    statuses = [
        http.post("/orders", json={"customer_id": ann, "lines": [{"sku": sku, "qty": 2}]}).json()[
            "status"
        ]
        for _ in range(2)
    ]
    assert statuses == ["ready_to_ship", "partially_allocated"]
    late = http.post("/orders", json={"customer_id": vip, "lines": [{"sku": sku, "qty": 2}]}).json()
    assert late["status"] == "backordered"

    received = cli(env, "--json", "receive", sku, "2", "--reference", "PO-42")
    assert received.returncode == 0, received.stderr

    log = http.get("/allocation-log", params={"sku": sku, "order_id": late["id"]}).json()
    assert [(e["qty"], e["cause"], e["reference"]) for e in log] == [(2, "receipt", "PO-42")]
    assert "critical customer" in log[0]["reason"]
    queue = http.get(f"/skus/{sku}/queue").json()
    assert [(q["position"], q["backordered"]) for q in queue] == [(1, 1)]
    assert cli(env, "check").returncode == 0
