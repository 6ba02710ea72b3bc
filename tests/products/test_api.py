"""GET /products (ninja router): products in force on a date, amounts in fen, rates as decimal strings."""

import pytest
from ninja.testing import TestClient

from xinedai.products.api import router

pytestmark = pytest.mark.django_db


def test_lists_products_in_force(catalogue):
    client = TestClient(router)
    body = client.get("", user=catalogue.users["am1"]).json()
    by_code = {p["code"]: p for p in body}
    assert "kangyi_qinqing_dai" not in by_code
    x = by_code["xinedai"]
    assert (x["max_amount_fen"], x["annual_rate"], x["spread_bp"], x["lpr_tenor"]) == (30_000_000, "0.045", 150, "1y")
    assert by_code["anjie_edai"]["channels"] == ["online"]
    old = {p["code"]: p for p in client.get("?on=2022-06-30", user=catalogue.users["am1"]).json()}
    assert old["xinedai"]["annual_rate"] == "0.052"
    assert "kangyi_qinqing_dai" in old
    breeders = {p["code"] for p in client.get("?segment=breeder", user=catalogue.users["am1"]).json()}
    assert "zhuyang_dai" in breeders and "dapeng_dai" not in breeders
