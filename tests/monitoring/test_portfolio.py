"""The portfolio page reads the day-end snapshot only, and its figures are the ones computed here
independently from the loans, their schedules and their states, date by date, in each user's scope."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.credit.conftest import credit  # noqa: F401  (a fixture, used through `book`)
from tests.servicing.conftest import TODAY, Book, build_book
from xinedai.lending.models import Loan
from xinedai.servicing import eod, services
from xinedai.servicing.choices import RiskClass
from xinedai.servicing.models import LoanState

NEXT = TODAY + dt.timedelta(days=1)
FIGURES = ("loans", "balance_fen", "overdue_principal_fen", "overdue_balance_fen", "npl_fen")


def independent(on: dt.date) -> dict[str, dict]:
    """Sums by outlet, grid, manager, product and class of the active loans as they stand after the
    day-end of `on`: balances from the loans, overdue principal from the unpaid instalments due before
    `on`, the class from the loan's state (NPL: substandard or worse)."""
    classes = dict(LoanState.objects.values_list("loan_id", "risk_class"))
    out: dict[str, dict] = defaultdict(lambda: defaultdict(lambda: dict.fromkeys(FIGURES, 0)))
    for loan in Loan.objects.filter(status="active").select_related("household__village__grid"):
        grid = loan.household.village.grid
        late = list(loan.instalments.filter(schedule_version=loan.schedule_version, status="pending", due_on__lt=on))
        overdue = sum(i.principal_fen - i.paid_principal_fen for i in late)
        # 逾期贷款余额: the loan's whole balance once anything (principal or interest) is overdue
        any_overdue = any(i.principal_fen + i.interest_fen > i.paid_principal_fen + i.paid_interest_fen for i in late)
        risk = classes.get(loan.pk, RiskClass.NORMAL)
        npl = loan.principal_outstanding_fen if risk >= RiskClass.SUBSTANDARD else 0
        for dim, key in [
            ("total", None),
            ("outlet", grid.outlet_id),
            ("grid", grid.pk),
            ("manager", grid.owner_id),
            ("product", loan.product_code),
            ("class", risk),
        ]:
            cell = out[dim][key]
            cell["loans"] += 1
            cell["balance_fen"] += loan.principal_outstanding_fen
            cell["overdue_principal_fen"] += overdue
            cell["overdue_balance_fen"] += loan.principal_outstanding_fen if any_overdue else 0
            cell["npl_fen"] += npl
    return {dim: {k: dict(v) for k, v in cells.items()} for dim, cells in out.items()}


def ratio(npl: int, total: int) -> Decimal:
    return (Decimal(npl) * 100 / Decimal(total)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def figures(row) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {f: getattr(row, f) for f in FIGURES}


@pytest.fixture
def two_days(credit) -> tuple[Book, dict, dict]:  # type: ignore[no-untyped-def]  # noqa: F811
    """Day-end of TODAY (h2's loan 10 days past due); then h3's loan is downgraded to substandard by two
    people and the day-end of the next date runs. Returns the independent figures after each date."""
    made = build_book(credit)
    eod.run(TODAY)
    first = independent(TODAY)
    with transaction.atomic():
        request = services.request_classification(
            credit.users["co"], made.c.pk, risk_class=RiskClass.SUBSTANDARD, reason="经营失败，收入中断"
        )
        services.approve_classification(credit.users["bm"], request.pk, note="属实", today=NEXT)
    eod.run(NEXT)
    return made, first, independent(NEXT)


def page(book: Book, username: str, query: str = ""):  # type: ignore[no-untyped-def]
    resp = book.bank.client(username).get(f"/monitoring/portfolio/{query}")
    assert resp.status_code == 200
    return resp.context


def test_figures_equal_sums_from_the_loans_on_each_date(two_days):
    book, first, second = two_days
    assert second["total"][None]["npl_fen"] == 80_000 * 100  # the substandard loan, the rest performing
    assert first["total"][None]["npl_fen"] == 0 and first["total"][None]["overdue_principal_fen"] > 0
    # the overdue loan's whole balance, more than what of it is due
    assert first["total"][None]["overdue_balance_fen"] > first["total"][None]["overdue_principal_fen"]
    for query, expected, on in [("", second, NEXT), (f"?on={NEXT}", second, NEXT), (f"?on={TODAY}", first, TODAY)]:
        ctx = page(book, "bm", query)
        assert ctx["on"] == on
        assert figures(ctx["total"]) == expected["total"][None]
        total = expected["total"][None]
        assert ctx["total"].npl_ratio == ratio(total["npl_fen"], total["balance_fen"])
        assert {r.key: figures(r) for r in ctx["by_outlet"]} == expected["outlet"]
        assert {r.key: figures(r) for r in ctx["by_grid"]} == expected["grid"]
        assert {r.key: figures(r) for r in ctx["by_manager"]} == expected["manager"]
        assert {r.key: figures(r) for r in ctx["by_product"]} == expected["product"]
        by_class = {r.key: figures(r) for r in ctx["by_class"] if r.loans}
        assert by_class == expected["class"]
        assert [r.name for r in ctx["by_branch"]] == ["西海岸分行"]
        assert figures(ctx["by_branch"][0]) == total


def test_the_chart_stacks_each_outlets_balance_by_class(two_days):
    book, _, second = two_days
    ctx = page(book, "bm")
    assert ctx["level"] == "outlet"
    traces = ctx["balance_figure"]["data"]
    assert [t["name"] for t in traces] == ["正常", "关注", "次级", "可疑", "损失"]
    assert all(t["type"] == "bar" for t in traces) and ctx["balance_figure"]["layout"]["barmode"] == "stack"
    outlets = [r.key for r in ctx["by_outlet"]]
    assert traces[0]["x"] == [r.name for r in ctx["by_outlet"]]
    # exact 万元 strings, no float: each outlet's classes add up to its balance
    for i, outlet in enumerate(outlets):
        stacked = sum(Decimal(t["y"][i]) for t in traces)
        assert stacked * 1_000_000 == second["outlet"][outlet]["balance_fen"]
    o2 = outlets.index(book.bank.o2.pk)
    assert Decimal(traces[2]["y"][o2]) == Decimal("8")  # 80,000 yuan substandard = 8 万元


def test_the_trend_gives_the_npl_ratio_of_each_business_date(two_days):
    book, first, second = two_days
    ctx = page(book, "bm", "?days=7")
    trend = ctx["trend_figure"]["data"][0]
    assert trend["x"] == [TODAY.isoformat(), NEXT.isoformat()]
    t1, t2 = first["total"][None], second["total"][None]
    assert trend["y"] == [str(ratio(t1["npl_fen"], t1["balance_fen"])), str(ratio(t2["npl_fen"], t2["balance_fen"]))]
    assert trend["y"][0] == "0.00"
    # as of the first date, the trend stops there
    assert page(book, "bm", f"?on={TODAY}")["trend_figure"]["data"][0]["x"] == [TODAY.isoformat()]


def test_an_outlet_manager_sees_the_grids_of_their_outlet(two_days):
    book, _, second = two_days
    ctx = page(book, "om1")
    o1 = book.bank.o1.pk
    assert ctx["level"] == "grid"
    assert figures(ctx["total"]) == second["outlet"][o1]
    assert {r.key for r in ctx["by_grid"]} == {book.bank.g1a.pk, book.bank.g1b.pk}
    assert ctx["balance_figure"]["data"][0]["x"] == [r.name for r in ctx["by_grid"]]
    assert "王台" not in book.bank.client("om1").get("/monitoring/portfolio/").content.decode()
    resp = book.bank.client("om1").get(f"/monitoring/portfolio/?outlet={book.bank.o2.pk}")
    assert resp.status_code == 404


def test_drill_down_to_one_outlet(two_days):
    book, _, second = two_days
    ctx = page(book, "bm", f"?outlet={book.bank.o2.pk}")
    assert ctx["level"] == "grid" and ctx["outlet"] == book.bank.o2
    assert figures(ctx["total"]) == second["outlet"][book.bank.o2.pk]
    assert ctx["total"].npl_ratio == Decimal("100.00")
    assert [r.key for r in ctx["by_grid"]] == [book.bank.g2.pk]


def test_the_page_reads_the_snapshot_not_the_loans(two_days):
    book, _, _ = two_days
    client = book.bank.client("bm")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/monitoring/portfolio/?days=365").status_code == 200
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "servicing_portfolioday" in sql
    for table in ("lending_loan", "lending_instalment", "servicing_loanstate", "households_household"):
        assert table not in sql
    assert len(queries.captured_queries) <= 24  # 22, and the year's write-offs and recoveries


def test_a_date_before_the_first_snapshot_and_no_snapshot_at_all(credit):  # noqa: F811
    c = credit.client("bm")
    resp = c.get("/monitoring/portfolio/")
    assert resp.status_code == 200 and resp.context["on"] is None
    assert 'id="portfolio-empty"' in resp.content.decode()
    build_book(credit)
    eod.run(TODAY)
    assert c.get("/monitoring/portfolio/?on=2026-01-01").context["on"] is None
    ctx = c.get("/monitoring/portfolio/?on=2027-01-01").context  # after the last: the latest before it
    assert ctx["on"] == TODAY
    assert c.get("/monitoring/portfolio/?on=not-a-date").context["on"] == TODAY


@pytest.mark.parametrize(("username", "status"), [("am1", 403), ("co", 200), ("auditor", 200), ("admin", 200)])
def test_who_may_open_the_page(credit, username, status):  # noqa: F811
    assert credit.client(username).get("/monitoring/portfolio/").status_code == status


def test_the_years_write_offs_stand_beside_the_npl_figures(credit):  # noqa: F811
    from tests.lending.test_loans import pay

    book = build_book(credit)
    eod.run(TODAY)
    with transaction.atomic():
        request = services.request_classification(
            credit.users["co"], book.c.pk, risk_class=RiskClass.LOSS, reason="失联"
        )
    with transaction.atomic():
        services.approve_classification(credit.users["bm"], request.pk, today=NEXT)
    with transaction.atomic():
        write_off = services.request_write_off(credit.users["co"], book.c.pk, reason="失联两年")
    with transaction.atomic():
        services.approve_write_off(credit.users["risk"], write_off.pk, today=NEXT)
    pay(Loan.objects.get(pk=book.c.pk), key="recovered", today=NEXT, amount=1_000_00)
    pay(Loan.objects.get(pk=book.a.pk), key="repaid", today=NEXT, amount=500_00)  # a repayment, not a recovery
    eod.run(NEXT)
    client = book.bank.client("bm")
    with CaptureQueriesContext(connection) as queries:
        ctx = client.get("/monitoring/portfolio/").context
    assert ctx["written_off"] == {"count": 1, "principal_fen": 80_000 * 100, "recovered_fen": 1_000_00}
    assert not any("lending_loan" in q["sql"] for q in queries.captured_queries)  # by the outlet kept
    assert ctx["total"].balance_fen == sum(
        Loan.objects.filter(status="active").values_list("principal_outstanding_fen", flat=True)
    )  # the written-off loan has left the snapshot
    assert page(book, "bm", f"?outlet={book.bank.o2.pk}")["written_off"]["count"] == 1
    assert page(book, "bm", f"?outlet={book.bank.o1.pk}")["written_off"]["count"] == 0
    assert page(book, "om1")["written_off"]["count"] == 0  # O1's manager: the loan was booked to O2
    assert page(book, "bm", f"?on={TODAY.isoformat()}")["written_off"]["count"] == 0  # not yet written off then
