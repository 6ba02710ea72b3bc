"""POST /api/v1/schedules/preview: a schedule in fen for a bearer token; bad terms are a 422 naming the field."""

import pytest
from django.db import transaction
from django.test import Client

from xinedai.org import services as org

URL = "/api/v1/schedules/preview"
BODY = {
    "principal_fen": 1_200_000,
    "annual_rate": "0.06",
    "term_months": 12,
    "method": "annuity",
    "start_date": "2027-01-31",
}


@pytest.fixture
def client(bank):  # type: ignore[no-untyped-def]
    with transaction.atomic():
        _, secret = org.issue_token(None, bank.users["am1"], name="t")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def post(client, **changes):
    return client.post(URL, BODY | changes, content_type="application/json")


def test_preview_lists_every_instalment_in_fen(client):
    resp = post(client)
    assert resp.status_code == 200, resp.content
    body = resp.json()
    instalments = body.pop("instalments")
    assert body == {
        "method": "annuity",
        "principal_fen": 1_200_000,
        "annual_rate": "0.06",
        "term_months": 12,
        "total_interest_fen": 39_358,
        "total_payment_fen": 1_239_358,
    }
    assert len(instalments) == 12
    assert instalments[0] == {
        "number": 1,
        "due_on": "2027-02-28",
        "principal_fen": 97_280,
        "interest_fen": 6_000,
        "payment_fen": 103_280,
        "balance_after_fen": 1_102_720,
    }
    assert [i["due_on"] for i in instalments[1:3]] == ["2027-03-31", "2027-04-30"]
    assert instalments[-1] == {
        "number": 12,
        "due_on": "2028-01-31",
        "principal_fen": 102_764,
        "interest_fen": 514,
        "payment_fen": 103_278,
        "balance_after_fen": 0,
    }


def test_preview_of_a_bullet_loan_across_a_leap_year(client):
    resp = post(client, method="bullet", annual_rate="0.0600", start_date="2027-07-01")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert (body["annual_rate"], body["total_interest_fen"], body["total_payment_fen"]) == ("0.06", 73_200, 1_273_200)
    assert body["instalments"] == [
        {
            "number": 1,
            "due_on": "2028-07-01",
            "principal_fen": 1_200_000,
            "interest_fen": 73_200,
            "payment_fen": 1_273_200,
            "balance_after_fen": 0,
        }
    ]


def test_preview_needs_a_token(bank):
    resp = Client().post(URL, BODY, content_type="application/json")
    assert resp.status_code == 401
    assert resp.json()["code"] == "unauthenticated"
    bad = Client(headers={"Authorization": "Bearer not-a-token"}).post(URL, BODY, content_type="application/json")
    assert bad.status_code == 401


def problems(resp):
    assert resp.status_code == 422, resp.content
    body = resp.json()
    assert body["code"] == "schedule_terms_invalid"
    assert body["message_zh"] and body["message_en"]
    assert body["field"] == body["details"]["problems"][0]["field"]
    return [(p["field"], p["code"]) for p in body["details"]["problems"]]


def test_a_float_rate_is_refused_with_a_clear_error(client):
    resp = post(client, annual_rate=0.06)
    assert problems(resp) == [("annual_rate", "rate_not_string")]
    assert "decimal string" in resp.json()["message_en"]
    assert "小数字符串" in resp.json()["message_zh"]
    assert problems(post(client, annual_rate=0)) == [("annual_rate", "rate_not_string")]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"method": "balloon"}, [("method", "method_unknown")]),
        ({"method": "REVOLVING"}, [("method", "method_unknown")]),
        ({"principal_fen": 0}, [("principal_fen", "principal_not_positive")]),
        ({"principal_fen": -100}, [("principal_fen", "principal_not_positive")]),
        ({"term_months": 0}, [("term_months", "term_out_of_range")]),
        ({"term_months": 361}, [("term_months", "term_out_of_range")]),
        ({"annual_rate": "4.35"}, [("annual_rate", "rate_out_of_range")]),
        ({"annual_rate": "0.0435001"}, [("annual_rate", "rate_too_precise")]),
        ({"annual_rate": "4.35%"}, [("annual_rate", "rate_invalid")]),
        (
            {"principal_fen": 0, "annual_rate": 0.06, "method": "x"},
            [
                ("principal_fen", "principal_not_positive"),
                ("annual_rate", "rate_not_string"),
                ("method", "method_unknown"),
            ],
        ),
    ],
)
def test_bad_terms_are_a_422_naming_each_field(client, changes, expected):
    assert problems(post(client, **changes)) == expected


@pytest.mark.parametrize(
    "changes",
    [{"principal_fen": 1_200_000.0}, {"principal_fen": "1200000"}, {"term_months": 12.0}, {"start_date": "2027-02-30"}],
)
def test_wrongly_typed_fields_are_a_422(client, changes):
    assert post(client, **changes).status_code == 422


def test_the_preview_is_a_pure_calculation(client):
    from xinedai.core.models import AuditEntry

    before = AuditEntry.objects.count()
    assert post(client, term_months=360, method="equal_principal").status_code == 200
    assert AuditEntry.objects.count() == before


def test_openapi_documents_the_rate_as_a_string(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/schedules/preview" in schema["paths"]
    rate = schema["components"]["schemas"]["PreviewIn"]["properties"]["annual_rate"]
    assert rate["type"] == "string"
