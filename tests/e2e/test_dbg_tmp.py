import re
from tests.e2e.test_web_forms import *
def test_dbg(shop, client):
    app, ann, vip = shop
    place(app, ann, ("MUG", 3))
    login(client, "operator")
    preview = post(client, "/ui/receive/preview", {"sku": "MUG", "warehouse": "main", "qty": "2"}, page="/ui/receive")
    print(re.findall(r'<input type="hidden"[^>]*>', preview.text))
    print(client.cookies)
