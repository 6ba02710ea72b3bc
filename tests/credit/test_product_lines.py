"""Lines per catalogue product: each product's terms cap its own line, the customer's other lines count as
exposure, the per-customer cap holds across all of them, and segment products only serve their segment."""

import datetime as dt

import pytest
from django.db import transaction

from xinedai.core import reuse
from xinedai.core.errors import ValidationFailed
from xinedai.credit import services
from xinedai.credit.batch import decide_batch
from xinedai.credit.models import CreditDecision, CreditLine
from xinedai.households.models import Household

TODAY = dt.date(2026, 6, 30)
Y = 100


@pytest.fixture
def catalogue(credit):
    from xinedai.products.services import seed_catalogue

    with transaction.atomic():
        seed_catalogue()
    return credit


def decide_and_grant(bank, household, product, **kw):
    with transaction.atomic():
        d = services.decide(bank.users["am1"], household=household, today=TODAY, product_code=product, **kw)
        return d, services.grant_line(bank.users["risk"], d, today=TODAY)


def test_a_segment_product_grants_its_own_line_and_the_base_product_sees_it_as_exposure(catalogue):
    from xinedai.products.models import ProductVersion

    ProductVersion.objects.filter(product__code="dapeng_dai").update(max_amount_fen=100_000 * Y)
    h = catalogue.h1  # greenhouse grower, 大棚贷 is for them; the model alone allows 210,000 (income)
    d1, line1 = decide_and_grant(catalogue, h, "dapeng_dai")
    assert (d1.product_code, d1.binding) == ("dapeng_dai", "product_cap")
    assert (line1.product_code, line1.limit_fen) == ("dapeng_dai", 100_000 * Y)
    d2 = services.decide(catalogue.users["am1"], household=h, today=TODAY, product_code="xinedai")
    # what the household can carry (210,000) less its 大棚贷 line: 110,000 left for 信e贷
    assert d2.inputs["exposure_fen"] == 100_000 * Y and d2.limit_fen == 110_000 * Y
    with transaction.atomic():
        line2 = services.grant_line(catalogue.users["risk"], d2, today=TODAY)
    live = CreditLine.objects.filter(household=h, status="active")
    assert {ln.product_code: ln.limit_fen for ln in live} == {"dapeng_dai": 100_000 * Y, "xinedai": 110_000 * Y}
    assert line1.pk != line2.pk
    # deciding 大棚贷 again counts the 信e贷 line, and re-granting replaces only the 大棚贷 line
    d3 = services.decide(catalogue.users["am1"], household=h, today=TODAY, product_code="dapeng_dai")
    assert d3.inputs["exposure_fen"] == 110_000 * Y and d3.limit_fen == 100_000 * Y
    with transaction.atomic():
        services.grant_line(catalogue.users["risk"], d3, today=TODAY)
    assert CreditLine.objects.filter(household=h, status="revoked").get().pk == line1.pk
    assert CreditLine.objects.filter(household=h, status="active").count() == 2
    # with both lines taken, nothing is left for another product
    d4 = services.decide(catalogue.users["am1"], household=h, today=TODAY, product_code="xinedai")
    assert (d4.limit_fen, d4.binding) == (110_000 * Y, "disposable_income")  # its own line is not exposure
    d5 = services.decide(
        catalogue.users["am1"], household=h, today=TODAY, product_code="nongshang_edai", channel="online"
    )
    assert (d5.limit_fen, d5.binding) == (0, "exposure")


def test_the_customer_cap_spans_products_when_a_grant_would_break_it(catalogue):
    h = catalogue.h1
    stale = services.decide(catalogue.users["am1"], household=h, today=TODAY, product_code="xinedai")  # 210,000
    decide_and_grant(catalogue, h, "dapeng_dai")  # 210,000 more since the first decision
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.grant_line(catalogue.users["risk"], stale, today=TODAY)
    assert err.value.code == "customer_cap"
    assert CreditLine.objects.filter(household=h, product_code="xinedai").count() == 0


def test_a_segment_product_refuses_other_segments_and_products_keep_their_channels(catalogue):
    Household.objects.filter(pk=catalogue.h2.pk).update(segments=",salaried,")
    h2 = Household.objects.get(pk=catalogue.h2.pk)
    before = CreditDecision.objects.count()
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.decide(catalogue.users["am1"], household=h2, today=TODAY, product_code="dapeng_dai")
    assert err.value.code == "product_segment"
    with pytest.raises(ValidationFailed) as err, transaction.atomic():  # 按揭e贷 is pure online
        services.decide(catalogue.users["am1"], household=catalogue.h1, today=TODAY, product_code="anjie_edai")
    assert err.value.code == "product_channel"
    assert CreditDecision.objects.count() == before
    d = services.decide(
        catalogue.users["am1"], household=catalogue.h1, today=TODAY, product_code="anjie_edai", channel="online"
    )
    assert d.limit_fen <= 200_000 * Y and d.product_code == "anjie_edai"


def test_a_batch_for_a_segment_product_decides_only_that_segment(catalogue):
    from xinedai.credit.models import LimitStrategy, ScoreModel

    Household.objects.filter(pk=catalogue.h3.pk).update(segments=",salaried,")
    ids = list(Household.objects.order_by("pk").values_list("pk", flat=True))
    with transaction.atomic():
        result = decide_batch(
            ids,
            actor=catalogue.users["risk"],
            model=ScoreModel.objects.get(status="active"),
            strategy=LimitStrategy.objects.get(status="active"),
            channel="combined",
            as_of=TODAY,
            product_code="dapeng_dai",
        )
    assert (result.decided, result.skipped) == (2, 1)
    assert set(CreditDecision.objects.values_list("product_code", flat=True)) == {"dapeng_dai"}
    assert set(CreditLine.objects.values_list("product_code", flat=True)) == {"dapeng_dai"}
    assert not CreditDecision.objects.filter(household=catalogue.h3).exists()


def test_the_page_offers_the_households_products_and_grants_the_chosen_one(catalogue):
    c = catalogue.client("am1")
    page = c.get(f"/credit/households/{catalogue.h1.pk}/").content.decode()
    assert 'value="dapeng_dai"' in page and "大棚贷" in page  # a greenhouse grower is offered 大棚贷
    assert 'value="zhuyang_dai"' not in page  # 助养贷 is for breeders
    resp = c.post(
        f"/credit/households/{catalogue.h1.pk}/decide/",
        {"mode": "model", "channel": "combined", "product": "dapeng_dai"},
    )
    assert resp.status_code == 302
    d = CreditDecision.objects.get()
    assert d.product_code == "dapeng_dai"
    c.post(f"/credit/households/{catalogue.h1.pk}/decisions/{d.pk}/grant/")
    assert CreditLine.objects.get().product_code == "dapeng_dai"
    assert "大棚贷" in c.get(f"/credit/households/{catalogue.h1.pk}/").content.decode()
    # a product the household may not use is refused by the form, and nothing is written
    resp = c.post(
        f"/credit/households/{catalogue.h1.pk}/decide/",
        {"mode": "model", "channel": "combined", "product": "zhuyang_dai"},
    )
    assert resp.status_code == 422 and CreditDecision.objects.count() == 1


def test_an_officer_cannot_approve_beyond_the_products_cap_and_nothing_is_granted(catalogue):
    from xinedai.credit.models import OfflineApplication
    from xinedai.products.models import ProductVersion

    with transaction.atomic():
        app = services.submit_application(
            catalogue.users["am1"],
            catalogue.h1,
            requested_limit_fen=80_000 * Y,
            today=TODAY,
            product_code="dapeng_dai",
        )
    assert app.product_code == "dapeng_dai"
    # the product's terms change before the review: its cap falls below the request
    ProductVersion.objects.filter(product__code="dapeng_dai").update(max_amount_fen=50_000 * Y)
    reuse.forget_all()  # an UPDATE behind the models' back is seen within the second (core.reuse)
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.approve_application(
            catalogue.users["risk"], app, approved_limit_fen=80_000 * Y, reason="核实", today=TODAY
        )
    assert err.value.code == "over_product_cap"
    app.refresh_from_db()
    assert app.status == "submitted" and app.line_id is None
    assert not CreditLine.objects.filter(household=catalogue.h1).exists()
    assert not CreditDecision.objects.filter(mode="offline_approval").exists()
    with transaction.atomic():
        line = services.approve_application(
            catalogue.users["risk"], app, approved_limit_fen=50_000 * Y, reason="按产品上限", today=TODAY
        )
    assert (line.product_code, line.limit_fen) == ("dapeng_dai", 50_000 * Y)
    assert OfflineApplication.objects.get(pk=app.pk).status == "approved"
