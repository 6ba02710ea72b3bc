"""Product use cases: seeding, propose / approve / reject / withdraw (maker ≠ checker), versions on a date."""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from tests.conftest import TODAY
from xinedai.core.errors import PermissionDenied, ValidationFailed
from xinedai.core.models import AuditEntry
from xinedai.products import queries, services
from xinedai.products.models import LprRate, Product, ProductVersion

pytestmark = pytest.mark.django_db
W = 10_000 * 100  # 1 万元 in fen
START = TODAY + dt.timedelta(days=1)


def product(code):  # type: ignore[no-untyped-def]
    return Product.objects.get(code=code)


def in_force(code, on=TODAY):  # type: ignore[no-untyped-def]
    v = queries.effective_version(product(code), on)
    return v.version if v else None


def propose(bank, code="xinedai", user="admin", **changes):  # type: ignore[no-untyped-def]
    current = queries.effective_version(product(code), TODAY)
    terms = dataclasses.replace(current.terms(), effective_from=START, **changes)
    with transaction.atomic():
        return services.propose_change(bank.users[user], product(code), terms, note="调整额度", today=TODAY)


def test_seed_creates_the_case_study_catalogue_once(catalogue):
    names = set(Product.objects.values_list("name", flat=True))
    assert {"信e贷", "按揭e贷", "备用金e贷", "农商e贷", "薪e贷", "保证e贷", "质押e贷"} <= names
    assert {"大棚贷", "助养贷", "种植无忧贷", "惠商贷"} <= names
    assert set(Product.objects.values_list("family", flat=True)) == {"xinedai"}
    n_products, n_audit, n_lpr = Product.objects.count(), AuditEntry.objects.count(), LprRate.objects.count()
    assert ProductVersion.objects.filter(status="approved").count() == n_products
    with transaction.atomic():
        assert services.seed_catalogue() == []
    assert (Product.objects.count(), AuditEntry.objects.count(), LprRate.objects.count()) == (
        n_products,
        n_audit,
        n_lpr,
    )


def test_seeded_caps_hold(catalogue):
    for v in ProductVersion.objects.all():
        limit = 200_000 * 100 if set(v.channels) == {"online"} else 300_000 * 100
        assert v.max_amount_fen <= limit, v


def test_rate_on_a_date_follows_the_lpr(catalogue):
    v = queries.effective_version(product("xinedai"), dt.date(2022, 6, 30))
    assert queries.rate_on(v, dt.date(2022, 6, 30)) == Decimal("0.0520")  # 1Y LPR 3.70 % + 150 bp
    assert queries.rate_on(v, TODAY) == Decimal("0.0450")  # 1Y LPR 3.00 % + 150 bp
    fixed = queries.effective_version(product("beiyongjin_edai"), TODAY)
    assert queries.rate_on(fixed, TODAY) == Decimal("0.054")


def test_effective_dates_and_segments_in_the_catalogue(catalogue):
    assert in_force("kangyi_qinqing_dai", dt.date(2022, 6, 30)) == 1
    assert in_force("kangyi_qinqing_dai", dt.date(2023, 1, 1)) is None
    assert in_force("xinchou_edai", dt.date(2021, 12, 31)) is None
    breeders = {p.code for p, _ in queries.catalogue(TODAY, segment="breeder")}
    assert "zhuyang_dai" in breeders and "xinedai" in breeders
    assert "dapeng_dai" not in breeders and "xinchou_edai" not in breeders
    assert "kangyi_qinqing_dai" not in {p.code for p, _ in queries.catalogue(TODAY)}


def test_change_takes_effect_only_after_a_second_person_approves(catalogue):
    v2 = propose(catalogue, max_amount_fen=25 * W)
    assert v2.status == "proposed" and v2.version == 2
    assert in_force("xinedai", START) == 1
    with transaction.atomic():
        services.approve(catalogue.users["risk"], v2, today=TODAY)
    v2.refresh_from_db()
    assert (v2.status, v2.decided_by) == ("approved", catalogue.users["risk"])
    assert in_force("xinedai", TODAY) == 1  # not before its start date
    assert in_force("xinedai", START) == 2
    assert queries.effective_version(product("xinedai"), START).max_amount_fen == 25 * W


def test_the_maker_cannot_approve_and_the_refusal_changes_nothing(catalogue):
    v2 = propose(catalogue, user="risk", max_amount_fen=25 * W)
    audit_before = AuditEntry.objects.count()
    with pytest.raises(PermissionDenied) as exc, transaction.atomic():
        services.approve(catalogue.users["risk"], v2, today=TODAY)
    assert exc.value.code == "maker_is_checker"
    v2.refresh_from_db()
    assert (v2.status, v2.decided_by, v2.decided_at) == ("proposed", None, None)
    assert AuditEntry.objects.count() == audit_before
    assert in_force("xinedai", START) == 1
    with pytest.raises(PermissionDenied), transaction.atomic():
        services.reject(catalogue.users["risk"], v2, reason="自己驳回")
    # another approver may
    with transaction.atomic():
        services.approve(catalogue.users["admin"], v2, today=TODAY)
    assert in_force("xinedai", START) == 2


@pytest.mark.parametrize("role", ["am1", "om1", "co", "bm", "auditor"])
def test_only_head_office_roles_propose_or_approve(catalogue, role):
    with pytest.raises(PermissionDenied):
        propose(catalogue, user=role, max_amount_fen=25 * W)
    v2 = propose(catalogue, max_amount_fen=25 * W)
    with pytest.raises(PermissionDenied) as exc, transaction.atomic():
        services.approve(catalogue.users[role], v2, today=TODAY)
    assert exc.value.code == "forbidden_approve"
    assert ProductVersion.objects.filter(product__code="xinedai").count() == 2


def test_invalid_terms_are_refused_with_every_problem_and_nothing_written(catalogue):
    audit_before = AuditEntry.objects.count()
    with pytest.raises(services.TermsInvalid) as exc:
        propose(catalogue, code="anjie_edai", max_amount_fen=25 * W, min_term_months=0)
    assert exc.value.field == "max_amount_fen"
    assert [p.code for p in exc.value.problems] == ["above_online_cap", "term_out_of_range"]
    assert ProductVersion.objects.filter(product__code="anjie_edai").count() == 1
    assert AuditEntry.objects.count() == audit_before


def test_no_retroactive_change_and_no_empty_change(catalogue):
    current = queries.effective_version(product("xinedai"), TODAY)
    with pytest.raises(ValidationFailed) as exc, transaction.atomic():
        services.propose_change(
            catalogue.users["admin"],
            product("xinedai"),
            dataclasses.replace(current.terms(), max_amount_fen=20 * W, effective_from=TODAY - dt.timedelta(days=1)),
            note="倒签",
            today=TODAY,
        )
    assert exc.value.field == "effective_from"
    with pytest.raises(ValidationFailed) as exc, transaction.atomic():
        services.propose_change(
            catalogue.users["admin"], product("xinedai"), current.terms(), note="无变化", today=TODAY
        )
    assert exc.value.code == "nothing_changed"
    assert ProductVersion.objects.filter(product__code="xinedai").count() == 1


def test_a_proposal_whose_start_date_passed_cannot_be_approved(catalogue):
    v2 = propose(catalogue, max_amount_fen=25 * W)
    with pytest.raises(ValidationFailed) as exc, transaction.atomic():
        services.approve(catalogue.users["risk"], v2, today=START + dt.timedelta(days=1))
    assert exc.value.code == "effective_in_past"
    assert ProductVersion.objects.get(pk=v2.pk).status == "proposed"


def test_reject_needs_a_reason_and_leaves_the_version_in_force(catalogue):
    v2 = propose(catalogue, max_amount_fen=25 * W)
    with pytest.raises(ValidationFailed) as exc, transaction.atomic():
        services.reject(catalogue.users["risk"], v2, reason="  ")
    assert exc.value.field == "reason"
    with transaction.atomic():
        services.reject(catalogue.users["risk"], v2, reason="额度上调依据不足")
    v2.refresh_from_db()
    assert (v2.status, v2.decision_reason) == ("rejected", "额度上调依据不足")
    assert in_force("xinedai", START) == 1
    with pytest.raises(ValidationFailed) as exc, transaction.atomic():
        services.approve(catalogue.users["risk"], v2, today=TODAY)
    assert exc.value.code == "version_not_proposed"


def test_only_the_maker_withdraws(catalogue):
    v2 = propose(catalogue, max_amount_fen=25 * W)
    with pytest.raises(PermissionDenied), transaction.atomic():
        services.withdraw(catalogue.users["risk"], v2)
    with transaction.atomic():
        services.withdraw(catalogue.users["admin"], v2, reason="重新测算")
    assert ProductVersion.objects.get(pk=v2.pk).status == "withdrawn"


def test_audit_rows_for_propose_approve_and_reject(catalogue):
    v2 = propose(catalogue, max_amount_fen=25 * W)
    row = AuditEntry.objects.get(action="products.version.propose")
    assert row.actor == catalogue.users["admin"]
    assert (row.object_type, row.object_id, row.reason) == ("products.productversion", str(v2.pk), "调整额度")
    assert row.before == {"max_amount_fen": 30 * W, "effective_from": "2020-06-01"}
    assert row.after == {"version": 2, "max_amount_fen": 25 * W, "effective_from": START.isoformat()}
    with transaction.atomic():
        services.approve(catalogue.users["risk"], v2, today=TODAY, reason="同意")
    row = AuditEntry.objects.get(action="products.version.approve")
    assert row.actor == catalogue.users["risk"]
    assert row.before == {"status": "proposed", "version_in_force": 1}
    assert row.after == {"status": "approved", "product": "xinedai", "version": 2, "effective_from": START.isoformat()}
    v3 = propose(catalogue, code="dapeng_dai", max_amount_fen=20 * W)
    with transaction.atomic():
        services.reject(catalogue.users["risk"], v3, reason="不同意")
    row = AuditEntry.objects.get(action="products.version.reject")
    assert (row.actor, row.reason, row.after["version"]) == (catalogue.users["risk"], "不同意", 2)


def test_create_product_is_proposed_and_not_sold_until_approved(catalogue):
    terms = dataclasses.replace(
        queries.effective_version(product("dapeng_dai"), TODAY).terms(), effective_from=START, segments=("greenhouse",)
    )
    with transaction.atomic():
        v1 = services.create_product(
            catalogue.users["admin"], code="Xiangcun_Dai", name="乡村贷", terms=terms, today=TODAY
        )
    assert v1.product.code == "xiangcun_dai"
    assert "xiangcun_dai" not in {p.code for p, _ in queries.catalogue(START)}
    for code in ("xiangcun_dai", "approvals"):
        with pytest.raises(ValidationFailed) as exc, transaction.atomic():
            services.create_product(catalogue.users["admin"], code=code, name="重复", terms=terms, today=TODAY)
        assert exc.value.field == "code"
    with transaction.atomic():
        services.approve(catalogue.users["risk"], v1, today=TODAY)
    assert "xiangcun_dai" in {p.code for p, _ in queries.catalogue(START)}


def test_a_later_version_can_end_a_product(catalogue):
    v2 = propose(catalogue, code="zhiya_edai", effective_to=START + dt.timedelta(days=30))
    with transaction.atomic():
        services.approve(catalogue.users["risk"], v2, today=TODAY)
    assert in_force("zhiya_edai", START + dt.timedelta(days=30)) == 2
    assert in_force("zhiya_edai", START + dt.timedelta(days=31)) is None


def test_the_database_refuses_a_version_above_the_combined_cap(catalogue):
    from django.db import IntegrityError

    v = queries.effective_version(product("xinedai"), TODAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductVersion.objects.filter(pk=v.pk).update(max_amount_fen=300_000 * 100 + 1)


def test_products_seed_command_is_idempotent(bank):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("products_seed", stdout=out)
    assert "products created: 12" in out.getvalue()
    call_command("products_seed", stdout=out)
    assert "none (already seeded)" in out.getvalue()
    assert Product.objects.count() == 12
