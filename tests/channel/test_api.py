"""The channel endpoints' contracts, through the API as a channel server calls it: lines and products, the
three intake modes, contract acceptance, drawdown, repayment, loans — each customer seeing only their own,
personal data masked, and the ledger clean afterwards."""

import datetime as dt
import hashlib
import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.conftest import TODAY, pid
from xinedai.channel.api import LoanDetailOut
from xinedai.channel.models import ChannelApplication, ContractAcceptance
from xinedai.core.masking import mask_id_number
from xinedai.core.models import AuditEntry
from xinedai.credit.models import CreditDecision, CreditLine, OfflineApplication
from xinedai.households import services as hh
from xinedai.ledger import verify
from xinedai.ledger.models import JournalEntry
from xinedai.lending import rules
from xinedai.lending.models import Loan, Repayment

from ..conftest import file_values
from .conftest import CONTRACT_SHA, H1, H2, Y, drawdown_body, get, next_day, post

BREEDER = pid(40)


def clean() -> None:
    report = verify.run()
    assert report.clean, "\n".join(d.line() for d in report.differences)


# Lines and products -----------------------------------------------------------------------------------


def test_lines_show_the_customers_live_lines_masked(channels, line):
    resp = get(channels.client(), "/lines")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["customer"] == {
        "household_code": channels.bank.h1.code,
        "head_name": "张**",
        "id_number": mask_id_number(H1),
    }
    assert body["lines"] == [
        {
            "id": line.pk,
            "product": "xinedai",
            "product_name": "信e贷",
            "limit_fen": line.limit_fen,
            "used_fen": 0,
            "available_fen": line.limit_fen,
            "status": "active",
            "intake_mode": "model",
            "granted_at": body["lines"][0]["granted_at"],
            "expires_on": "2027-06-30",
            "contract_accepted": False,
        }
    ]
    assert get(channels.client(), "/lines", customer=H2).json()["lines"] == []


def test_products_are_the_channels_products_for_the_customers_segment(channels, line):
    resp = get(channels.client(), "/products")
    assert resp.status_code == 200, resp.content
    products = {p["code"]: p for p in resp.json()}
    # h1 grows under glass (greenhouse): general products and 大棚贷, not 薪e贷 (salaried) or 助养贷 (breeders)
    assert {"xinedai", "dapeng_dai", "nongshang_edai"} <= set(products)
    assert not {"xinchou_edai", "zhuyang_dai", "huishang_dai"} & set(products)
    assert products["xinedai"]["has_line"] is True and products["dapeng_dai"]["has_line"] is False
    assert products["xinedai"]["application_mode"] == "model"
    assert products["xinedai"]["repayment_methods"] == ["annuity", "equal_principal", "interest_only", "revolving"]
    assert products["xinedai"]["annual_rate"] == "0.045"  # 1-year LPR 3.00 % + 150 bp
    assert products["beiyongjin_edai"]["annual_rate"] == "0.054"


# Applications -----------------------------------------------------------------------------------------


def test_a_model_application_for_a_pure_online_product_grants_the_line(channels):
    resp = post(channels.client(), "/applications", {"product": "xinedai"})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    app = ChannelApplication.objects.get()
    decision = CreditDecision.objects.get(pk=body["decision"]["decision_id"])
    line = CreditLine.objects.get(household=channels.bank.h1, status="active")
    assert (app.mode, app.outcome, app.channel, app.household_id) == (
        "model",
        "granted",
        "mobile_banking",
        line.household_id,
    )
    assert (decision.mode, decision.channel, decision.source, decision.product_code) == (
        "model",
        "online",
        "channel",
        "xinedai",
    )
    assert line.limit_fen == decision.limit_fen > 0 and line.decision_id == decision.pk
    assert body["outcome"] == "granted" and body["mode"] == "model" and body["applied_on"] == "2026-06-30"
    assert body["line"]["id"] == line.pk and body["line"]["limit_fen"] == decision.limit_fen
    assert body["decision"]["limit_fen"] == decision.limit_fen and body["decision"]["reasons"] == decision.reasons
    assert body["offline_application_id"] is None
    audit = AuditEntry.objects.get(action="channel.application")
    assert audit.after["channel"] == "mobile_banking" and audit.after["outcome"] == "granted"
    # a second application for the same product: the customer already holds its line
    resp = post(channels.client(), "/applications", {"product": "xinedai"}, key="k2")
    assert resp.status_code == 409 and resp.json()["code"] == "line_exists"
    assert ChannelApplication.objects.count() == 1


def test_a_model_application_for_an_online_and_offline_product_returns_the_decision(channels):
    bank = channels.bank
    with transaction.atomic():
        breeder = hh.create_household(
            bank.users["am1"],
            village=bank.v1,
            head=hh.PersonInput("孙七", BREEDER, "13800000036"),
            size=3,
            segments=["breeder"],
            file_values=file_values(),
            reason="建档",
            today=TODAY,
        )
    resp = post(channels.client(), "/applications", {"product": "zhuyang_dai"}, customer=BREEDER)
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["outcome"] == "decided" and body["line"] is None and body["decision"]["limit_fen"] > 0
    decision = CreditDecision.objects.get(pk=body["decision"]["decision_id"])
    assert decision.channel == "combined" and decision.product_code == "zhuyang_dai"
    assert not CreditLine.objects.filter(household=breeder).exists()


def test_an_offline_application_goes_to_the_customers_account_manager_and_the_officers(channels):
    body = {"product": "xinedai", "mode": "offline_approval", "requested_limit_fen": 150_000 * Y}
    resp = post(channels.client(channels.wechat_secret), "/applications", body)
    assert resp.status_code == 201, resp.content
    out = resp.json()
    offline = OfflineApplication.objects.get(pk=out["offline_application_id"])
    assert out["outcome"] == "submitted" and out["decision"] is None and out["line"] is None
    assert offline.household_id == channels.bank.h1.pk and offline.status == "submitted"
    assert offline.submitted_by == channels.bank.users["am1"]  # owner of h1's grid G1a
    assert offline.requested_limit_fen == 150_000 * Y and offline.channel == "online"
    assert "微信" in offline.note
    audit = AuditEntry.objects.get(action="channel.application")
    assert audit.after["channel"] == "wechat" and audit.after["submitted_as"] == "am1"
    resp = post(channels.client(), "/applications", {"product": "xinedai", "mode": "offline_approval"}, key="k2")
    assert resp.status_code == 422 and resp.json()["code"] == "requested_limit_required"


def test_a_small_credit_application_grants_a_small_line(channels):
    resp = post(channels.client(), "/applications", {"product": "xinedai", "mode": "small_credit"})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    decision = CreditDecision.objects.get(pk=body["decision"]["decision_id"])
    assert decision.mode == "small_credit" and body["outcome"] == "granted"
    assert body["line"]["limit_fen"] == decision.limit_fen == 50_000 * Y  # the small-credit cap


def test_small_credit_and_offline_applications_for_a_segment_product(channels):
    from xinedai.credit import services as credit_services
    from xinedai.products.models import ProductVersion

    ProductVersion.objects.filter(product__code="dapeng_dai").update(max_amount_fen=40_000 * Y)
    # an offline application for 大棚贷 beyond its cap is refused before it reaches anyone
    body = {"product": "dapeng_dai", "mode": "offline_approval", "requested_limit_fen": 50_000 * Y}
    resp = post(channels.client(), "/applications", body, key="off0")
    assert resp.status_code == 422 and resp.json()["code"] == "over_product_cap"
    assert not OfflineApplication.objects.exists()
    resp = post(channels.client(), "/applications", {"product": "dapeng_dai", "mode": "small_credit"})
    assert resp.status_code == 201, resp.content
    decision = CreditDecision.objects.get(pk=resp.json()["decision"]["decision_id"])
    # the product's own cap (40,000) binds below the small-credit cap (50,000); the line is 大棚贷's
    assert (decision.product_code, decision.mode, decision.binding) == ("dapeng_dai", "small_credit", "product_cap")
    line = CreditLine.objects.get(pk=resp.json()["line"]["id"])
    assert (line.product_code, line.limit_fen) == ("dapeng_dai", 40_000 * Y)
    # an offline application for 信e贷 then counts the 大棚贷 line as exposure when approved
    body = {"product": "xinedai", "mode": "offline_approval", "requested_limit_fen": 200_000 * Y}
    resp = post(channels.client(), "/applications", body, key="off")
    assert resp.status_code == 201, resp.content
    offline = OfflineApplication.objects.get(pk=resp.json()["offline_application_id"])
    assert offline.product_code == "xinedai"
    with transaction.atomic():
        granted = credit_services.approve_application(
            channels.bank.users["risk"], offline, approved_limit_fen=160_000 * Y, reason="核实经营", today=TODAY
        )
    assert granted.product_code == "xinedai" and granted.channel == "online"
    clean()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"product": "nope"}, 404, "product_not_found"),
        ({"product": "xinchou_edai"}, 422, "product_segment"),  # for salaried customers
        ({"product": "anjie_edai", "mode": "offline_approval"}, 422, "mode_not_allowed"),
        (
            {"product": "xinedai", "mode": "offline_approval", "requested_limit_fen": 300_001 * Y},
            422,
            "over_channel_cap",
        ),
        ({"product": "kangyi_qinqing_dai"}, 422, "product_not_on_sale"),
        ({"product": "xinedai", "requested_limit_fen": 1.5}, 422, "invalid_request"),
    ],
)
def test_applications_refused(channels, body, status, code):
    resp = post(channels.client(), "/applications", body)
    assert resp.status_code == status, resp.content
    assert resp.json()["code"] == code
    assert not ChannelApplication.objects.exists() and not CreditLine.objects.exists()


def test_applications_are_limited_per_customer_and_business_day(channels, settings, monkeypatch):
    settings.XINEDAI_CHANNEL_APPLICATIONS_PER_DAY = 2
    client = channels.client()
    assert post(client, "/applications", {"product": "xinedai"}, key="a1").status_code == 201
    assert post(client, "/applications", {"product": "dapeng_dai"}, key="a2").status_code == 201
    resp = post(channels.client(channels.wechat_secret), "/applications", {"product": "nongshang_edai"}, key="a3")
    assert resp.status_code == 429, resp.content  # across channels
    assert resp.json()["code"] == "application_rate_limited"
    assert resp.json()["details"] == {"limit": 2, "retry_on": "2026-07-01"}
    assert ChannelApplication.objects.count() == 2
    # a retry of an application already made is a replay, not another application
    assert post(client, "/applications", {"product": "xinedai"}, key="a1").status_code == 201
    # another customer has their own allowance; and tomorrow is another day
    assert post(client, "/applications", {"product": "xinedai"}, key="b1", customer=H2).status_code == 201
    next_day(monkeypatch)
    resp = post(channels.client(channels.wechat_secret), "/applications", {"product": "nongshang_edai"}, key="a4")
    assert resp.status_code == 201, resp.content


# Contracts, drawdowns, repayments, loans --------------------------------------------------------------


def test_a_contract_acceptance_records_what_when_and_through_which_channel(channels, line):
    sha = hashlib.sha256("借款合同全文……".encode()).hexdigest()
    body = {"line_id": line.pk, "contract_version": "XED-2026-01", "text_sha256": sha.upper()}
    resp = post(channels.client(channels.wechat_secret), "/contract-acceptances", body)
    assert resp.status_code == 201, resp.content
    out = resp.json()
    row = ContractAcceptance.objects.get()
    assert (row.household_id, row.line_id, row.product_code, row.contract_version, row.text_sha256, row.channel) == (
        channels.bank.h1.pk,
        line.pk,
        "xinedai",
        "XED-2026-01",
        sha,
        "wechat",
    )
    assert out["acceptance_id"] == row.pk and out["text_sha256"] == sha and out["channel"] == "wechat"
    assert dt.datetime.fromisoformat(out["accepted_at"]) == row.accepted_at
    assert AuditEntry.objects.filter(action="channel.contract.accept", object_id=str(row.pk)).count() == 1
    assert get(channels.client(), "/lines").json()["lines"][0]["contract_accepted"] is True
    resp = post(channels.client(), "/contract-acceptances", {**body, "text_sha256": "abc"}, key="k2")
    assert resp.status_code == 422 and resp.json()["code"] == "contract_hash_invalid"
    resp = post(channels.client(), "/contract-acceptances", body, key="k3", customer=H2)  # not h2's line
    assert resp.status_code == 404 and resp.json()["code"] == "line_not_found"
    assert ContractAcceptance.objects.count() == 1


def test_a_drawdown_needs_the_contract_then_disburses_with_its_schedule(channels, line):
    client = channels.client()
    resp = post(client, "/drawdowns", drawdown_body(line), key="d1")
    assert resp.status_code == 422 and resp.json()["code"] == "contract_not_accepted"
    assert not Loan.objects.exists()
    body = {"line_id": line.pk, "contract_version": "XED-2026-01", "text_sha256": CONTRACT_SHA}
    assert post(client, "/contract-acceptances", body, key="c1").status_code == 201
    resp = post(client, "/drawdowns", drawdown_body(line), key="d2")
    assert resp.status_code == 201, resp.content
    out = resp.json()
    loan = Loan.objects.get()
    assert (loan.drawdown_key, loan.channel, loan.principal_fen) == ("mobile_banking:d2", "mobile_banking", 50_000 * Y)
    expected = rules.schedule(50_000 * Y, loan.annual_rate, 12, "annuity", TODAY)
    assert [(i["due_on"], i["principal_fen"], i["interest_fen"], i["payment_fen"]) for i in out["schedule"]] == [
        (i.due_on.isoformat(), i.principal_fen, i.interest_fen, i.payment_fen) for i in expected
    ]
    assert out["id"] == loan.pk and out["annual_rate"] == "0.045" and out["penalty_rate"] == "0.0675"
    assert out["status"] == "active" and out["maturity_on"] == "2027-06-30"
    assert out["owed"] == {
        "on": "2026-06-30",
        "penalty_fen": 0,
        "overdue_interest_fen": 0,
        "overdue_principal_fen": 0,
        "interest_fen": 0,
        "principal_fen": 0,
        "not_due_principal_fen": 50_000 * Y,
        "payoff_fen": 50_000 * Y,
    }
    line.refresh_from_db()
    assert line.used_fen == 50_000 * Y
    resp = post(client, "/drawdowns", drawdown_body(line, line.available_fen + 1), key="d3")
    assert resp.status_code == 422 and resp.json()["code"] == "amount_over_available"
    resp = post(client, "/drawdowns", drawdown_body(line, method="bullet"), key="d4")
    assert resp.status_code == 422 and resp.json()["code"] == "method_not_allowed"
    assert Loan.objects.count() == 1
    clean()


def test_repayments_by_amount_and_payoff(channels, signed_line, monkeypatch):
    client = channels.client()
    loan_id = post(client, "/drawdowns", drawdown_body(signed_line), key="d1").json()["id"]
    first_due = Loan.objects.get().instalments.order_by("number").first()
    day = next_day(monkeypatch, (first_due.due_on - TODAY).days)
    due = first_due.principal_fen + first_due.interest_fen
    resp = post(client, f"/loans/{loan_id}/repayments", {"amount_fen": due}, key="r1")
    assert resp.status_code == 201, resp.content
    out = resp.json()
    repayment = Repayment.objects.get()
    assert out["repayment"] == {
        "id": repayment.pk,
        "loan_id": loan_id,
        "channel": "mobile_banking",
        "paid_on": day.isoformat(),
        "amount_fen": due,
        "penalty_fen": 0,
        "overdue_interest_fen": 0,
        "overdue_principal_fen": 0,
        "interest_fen": first_due.interest_fen,
        "principal_fen": first_due.principal_fen,
        "payoff": False,
        "reversed": False,
        "reversed_at": None,
    }
    assert out["loan"]["principal_outstanding_fen"] == 50_000 * Y - first_due.principal_fen
    assert repayment.key == "mobile_banking:r1"
    resp = post(client, f"/loans/{loan_id}/repayments", {"amount_fen": 100, "payoff": True}, key="r2")
    assert resp.status_code == 422 and resp.json()["code"] == "repayment_amount_or_payoff"
    resp = post(client, f"/loans/{loan_id}/repayments", {"amount_fen": 10**9}, key="r3")
    assert resp.status_code == 422 and resp.json()["code"] == "overpayment"
    resp = post(client, f"/loans/{loan_id}/repayments", {"payoff": True}, key="r4")
    assert resp.status_code == 201, resp.content
    assert resp.json()["loan"]["status"] == "settled" and resp.json()["repayment"]["payoff"] is True
    history = get(client, f"/loans/{loan_id}/repayments").json()
    assert [r["id"] for r in history] == list(
        Repayment.objects.order_by("-paid_on", "-id").values_list("pk", flat=True)
    )
    assert len(history) == 2
    detail = get(client, f"/loans/{loan_id}").json()
    assert detail["status"] == "settled" and detail["owed"] is None
    assert all(i["status"] == "paid" for i in detail["schedule"])
    signed_line.refresh_from_db()
    assert signed_line.used_fen == 0
    clean()


def test_loans_list_and_detail(channels, signed_line):
    client = channels.client()
    first = post(client, "/drawdowns", drawdown_body(signed_line, 30_000 * Y), key="d1").json()
    second = post(client, "/drawdowns", drawdown_body(signed_line, 20_000 * Y, method="equal_principal"), key="d2")
    loans = get(client, "/loans").json()
    assert [x["id"] for x in loans] == [second.json()["id"], first["id"]]
    assert loans[1] == {k: v for k, v in first.items() if k not in {"schedule", "owed"}}
    assert get(client, f"/loans/{first['id']}").json() == first


def test_a_drawdowns_answer_is_the_schedule_it_wrote_read_back_by_nothing(channels, signed_line):
    """lending keeps the rows a drawdown wrote on the loan it returns: the answer reads no instalment, and
    it is what reading the loan afterwards gives."""
    client = channels.client()
    with CaptureQueriesContext(connection) as ctx:
        resp = post(client, "/drawdowns", drawdown_body(signed_line), key="d1")
    assert resp.status_code == 201, resp.content
    touching = [q["sql"].split(" ", 1)[0] for q in ctx.captured_queries if "lending_instalment" in q["sql"]]
    assert touching == ["INSERT"]
    assert get(client, f"/loans/{resp.json()['id']}").json() == resp.json()
    assert len(resp.json()["schedule"]) == 12
    # The answer is rendered without a second pass through its schema: it must be what the schema gives.
    assert resp.json() == LoanDetailOut.model_validate(resp.json()).model_dump(mode="json")
    assert post(client, "/drawdowns", drawdown_body(signed_line), key="d1").content == resp.content  # replayed


def test_a_drawdown_reads_its_line_once_locked_and_then_looks_for_its_key(channels, signed_line):
    from xinedai.core import reuse

    reuse.forget_all()  # a cold process: the fixture's own decision has read the product's versions
    with CaptureQueriesContext(connection) as ctx:
        assert post(channels.client(), "/drawdowns", drawdown_body(signed_line), key="d1").status_code == 201
    sql = [q["sql"] for q in ctx.captured_queries]
    lines = [i for i, q in enumerate(sql) if q.startswith("SELECT") and 'FROM "credit_creditline"' in q]
    keys = [i for i, q in enumerate(sql) if q.startswith("SELECT") and 'FROM "lending_loan"' in q]
    assert len(lines) == 1 and len(keys) == 1 and lines[0] < keys[0]
    assert sql[lines[0]].endswith("FOR UPDATE") or connection.vendor != "postgresql"  # SQLite: BEGIN IMMEDIATE
    assert len([q for q in sql if q.startswith("SELECT") and 'FROM "products_productversion"' in q]) == 1
    # The contract acceptance comes with the locked line, not in a round trip of its own.
    assert '"channel_contractacceptance"' in sql[lines[0]]
    assert not [q for q in sql if q.startswith('SELECT "channel_contractacceptance"')]


def test_a_customer_never_sees_or_touches_another_customers_loan(channels, signed_line):
    loan_id = post(channels.client(), "/drawdowns", drawdown_body(signed_line), key="d1").json()["id"]
    other = channels.client()
    assert get(other, "/loans", customer=H2).json() == []
    for path in (f"/loans/{loan_id}", f"/loans/{loan_id}/repayments"):
        resp = get(other, path, customer=H2)
        assert resp.status_code == 404 and resp.json()["code"] == "loan_not_found"
    resp = post(other, f"/loans/{loan_id}/repayments", {"payoff": True}, key="x1", customer=H2)
    assert resp.status_code == 404 and resp.json()["code"] == "loan_not_found"
    resp = post(other, "/drawdowns", drawdown_body(signed_line), key="x2", customer=H2)
    assert resp.status_code == 404 and resp.json()["code"] == "line_not_found"
    assert Loan.objects.count() == 1 and not Repayment.objects.exists()


def test_no_response_carries_a_full_id_number_or_name(channels, signed_line):
    client = channels.client()
    bodies = [
        get(client, "/lines").content,
        post(client, "/drawdowns", drawdown_body(signed_line), key="d1").content,
        post(client, "/applications", {"product": "xinedai"}, key="a1").content,  # refused: line_exists
        get(client, "/products").content,
        get(client, "/loans").content,
        get(client, "/lines", customer="370211199001010000").content,  # an error names no one either
    ]
    for raw in bodies:
        text = json.dumps(json.loads(raw), ensure_ascii=False)
        assert H1 not in text and "张三丰" not in text and "三丰" not in text
    assert "张**" in bodies[0].decode() and mask_id_number(H1) in bodies[0].decode()


def test_a_written_off_loan_shows_what_is_still_owed_and_repaying_it_is_a_recovery(channels, signed_line):
    from xinedai.servicing import services as servicing
    from xinedai.servicing.choices import RiskClass

    client, bank = channels.client(), channels.bank
    loan_id = post(client, "/drawdowns", drawdown_body(signed_line), key="d1").json()["id"]
    with transaction.atomic():
        cls = servicing.request_classification(bank.users["co"], loan_id, risk_class=RiskClass.LOSS, reason="失联")
    with transaction.atomic():
        servicing.approve_classification(bank.users["bm"], cls.pk, today=TODAY)
    with transaction.atomic():
        request = servicing.request_write_off(bank.users["co"], loan_id, reason="失联两年")
    with transaction.atomic():
        servicing.approve_write_off(bank.users["risk"], request.pk, today=TODAY)
    detail = get(client, f"/loans/{loan_id}").json()
    assert detail["status"] == "written_off" and detail["principal_outstanding_fen"] == 0
    assert detail["owed"]["overdue_principal_fen"] == 50_000 * Y == detail["owed"]["payoff_fen"]
    resp = post(client, f"/loans/{loan_id}/repayments", {"amount_fen": 10_000 * Y}, key="r1")
    assert resp.status_code == 201, resp.content
    assert resp.json()["repayment"]["overdue_principal_fen"] == 10_000 * Y
    assert get(client, f"/loans/{loan_id}").json()["owed"]["payoff_fen"] == 40_000 * Y
    assert post(client, "/drawdowns", drawdown_body(signed_line, 1_000 * Y), key="d2").status_code == 422
    assert list(Loan.objects.values_list("pk", flat=True)) == [loan_id]
    clean()


def test_a_line_or_loan_no_longer_active_is_a_422_not_a_500(channels, signed_line):
    # The line's or loan's own status is a detail of the error, never taken for its HTTP status.
    client = channels.client()
    loan_id = post(client, "/drawdowns", drawdown_body(signed_line), key="d1").json()["id"]
    assert post(client, f"/loans/{loan_id}/repayments", {"payoff": True}, key="r1").status_code == 201
    resp = post(client, f"/loans/{loan_id}/repayments", {"amount_fen": 100}, key="r2")
    assert resp.status_code == 422, resp.content
    assert resp.json()["code"] == "loan_not_active" and resp.json()["details"] == {"loan_status": "settled"}
    assert Repayment.objects.count() == 1
    CreditLine.objects.filter(pk=signed_line.pk).update(status="expired")
    resp = post(client, "/drawdowns", drawdown_body(signed_line), key="d2")
    assert resp.status_code == 422, resp.content
    assert resp.json()["code"] == "line_not_active" and resp.json()["details"] == {"line_status": "expired"}
    assert list(Loan.objects.values_list("pk", flat=True)) == [loan_id]
    clean()


def test_a_channel_takes_back_its_own_repayment_the_same_day(channels, signed_line, monkeypatch):
    client, wechat = channels.client(), channels.client(channels.wechat_secret)
    loan_id = post(client, "/drawdowns", drawdown_body(signed_line), key="d1").json()["id"]
    day = next_day(monkeypatch, 5)
    before = get(client, f"/loans/{loan_id}").json()
    paid = post(client, f"/loans/{loan_id}/repayments", {"amount_fen": 3_000 * Y}, key="r1").json()["repayment"]
    url = f"/loans/{loan_id}/repayments/{paid['id']}/reversal"
    entries = JournalEntry.objects.count()
    resp = post(wechat, url, {"reason": "扣款失败"}, key="x1")  # another channel's repayment: not found
    assert resp.status_code == 404 and resp.json()["code"] == "repayment_not_found"
    resp = post(client, url, {"reason": ""}, key="x2")
    assert resp.status_code == 422
    resp = post(client, url, {"reason": "客户账户扣款失败"}, key=None)
    assert resp.status_code == 400  # every write takes an Idempotency-Key
    assert JournalEntry.objects.count() == entries and not Repayment.objects.get().reversed
    resp = post(client, url, {"reason": "客户账户扣款失败"}, key="x3")
    assert resp.status_code == 200, resp.content
    out = resp.json()
    assert out["repayment"]["reversed"] is True and out["repayment"]["reversed_at"]
    assert get(client, f"/loans/{loan_id}").json() == before  # the loan, its schedule and owed as before
    assert post(client, url, {"reason": "客户账户扣款失败"}, key="x3").json() == out  # a retry replays
    resp = post(client, url, {"reason": "客户账户扣款失败"}, key="x4")  # a new key: already reversed
    assert resp.status_code == 422 and resp.json()["code"] == "already_reversed"
    history = get(client, f"/loans/{loan_id}/repayments").json()
    assert [(r["id"], r["reversed"]) for r in history] == [(paid["id"], True)]
    # the next day the repayment stands: the bank's day-end has begun or the day is simply past
    paid = post(client, f"/loans/{loan_id}/repayments", {"amount_fen": 3_000 * Y}, key="r2").json()["repayment"]
    next_day(monkeypatch, 6)
    resp = post(client, f"/loans/{loan_id}/repayments/{paid['id']}/reversal", {"reason": "扣款失败"}, key="x5")
    assert resp.status_code == 422 and resp.json()["code"] == "not_same_day"
    assert day.isoformat() == paid["paid_on"]
    clean()
