"""Re-granting a line that has loans on it (the annual re-review, an offline approval, a campaign's
re-review): the line is renewed in place, its loans stay on it and keep holding its limit, and the
ledger and the lines agree before and after (docs/decisions/0012). An undrawn line is still replaced."""

import datetime as dt

import pytest
from django.db import transaction

from xinedai.core.audit import AuditEntry
from xinedai.core.errors import ValidationFailed
from xinedai.credit import services as credit_services
from xinedai.credit.batch import decide_batch
from xinedai.credit.models import CreditLine

from ..conftest import make_line
from .test_loans import TODAY, Y, clean, draw, pay

LATER = TODAY + dt.timedelta(days=31)


def regrant(credit, *, channel="combined", today=TODAY):
    with transaction.atomic():
        decision = credit_services.decide(credit.users["am1"], household=credit.h1, channel=channel, today=today)
        return credit_services.grant_line(credit.users["risk"], decision, today=today)


def test_a_drawn_line_is_renewed_in_place_and_its_repayments_free_it(line, credit):
    loan = draw(line, 100_000 * Y)
    renewed = regrant(credit, channel="online", today=LATER)  # 200,000 RMB: the pure-online cap
    assert renewed.pk == line.pk == loan.line_id
    assert (renewed.status, renewed.limit_fen, renewed.used_fen) == ("active", 200_000 * Y, 100_000 * Y)
    assert renewed.expires_on == LATER + dt.timedelta(days=365)
    assert renewed.channel == "online" and renewed.decision.channel == "online"
    assert CreditLine.objects.filter(household=credit.h1).count() == 1  # no second, unused line beside it
    entry = AuditEntry.objects.filter(action="credit.line.grant", object_id=str(line.pk)).order_by("-pk").first()
    assert entry.before["limit_fen"] == 210_000 * Y
    assert entry.after["renewed"] is True and entry.after["used_fen"] == 100_000 * Y
    clean()

    repayment = pay(loan, key="r1", today=LATER, amount=30_000 * Y)
    freed = repayment.principal_fen + repayment.overdue_principal_fen
    assert freed > 0
    renewed.refresh_from_db()
    assert renewed.used_fen == 100_000 * Y - freed and renewed.available_fen == 100_000 * Y + freed
    clean()
    # What is left of the renewed limit can be drawn, and no more.
    with pytest.raises(ValidationFailed):
        draw(renewed, renewed.available_fen + 1_000 * Y, key="k2", today=LATER)
    draw(renewed, renewed.available_fen, key="k3", today=LATER)
    renewed.refresh_from_db()
    assert renewed.used_fen == renewed.limit_fen
    clean()


def test_a_renewal_below_what_is_drawn_is_refused_and_changes_nothing(line, credit):
    draw(line, 205_000 * Y)
    before = list(CreditLine.objects.values_list("pk", "status", "limit_fen", "used_fen", "expires_on"))
    with pytest.raises(ValidationFailed) as err:
        regrant(credit, channel="online", today=LATER)  # 200,000 RMB < 205,000 drawn
    assert err.value.code == "limit_below_used"
    assert list(CreditLine.objects.values_list("pk", "status", "limit_fen", "used_fen", "expires_on")) == before
    clean()


def test_an_undrawn_line_is_still_replaced_by_a_new_one(line, credit):
    replaced = regrant(credit, channel="online", today=LATER)
    line.refresh_from_db()
    assert replaced.pk != line.pk and line.status == "revoked" and replaced.used_fen == 0
    clean()


def test_an_expired_line_with_loans_on_it_still_holds_the_caps_until_it_is_renewed(line, credit):
    loan = draw(line, 120_000 * Y)
    CreditLine.objects.filter(pk=line.pk).update(status="expired")  # as the day-end batch expires it
    # The loan runs on: what is owed counts against the customer's caps on every other product…
    assert credit_services.exposure_fen(credit.h1) == 120_000 * Y
    assert credit_services.exposure_fen(credit.h1, excluding_product="dapeng") == 120_000 * Y
    with transaction.atomic():
        other = credit_services.decide(credit.users["am1"], household=credit.h1, product_code="dapeng", today=LATER)
    assert other.inputs["exposure_fen"] == 120_000 * Y
    # …and the re-review renews the expired line, so its loan keeps holding the limit.
    renewed = regrant(credit, today=LATER)
    assert renewed.pk == line.pk == loan.line_id
    assert (renewed.status, renewed.used_fen, renewed.available_fen) == (
        "active",
        120_000 * Y,
        renewed.limit_fen - 120_000 * Y,
    )
    assert CreditLine.objects.filter(household=credit.h1).count() == 1
    clean()
    pay(loan, key="r1", today=LATER, payoff=True)
    renewed.refresh_from_db()
    assert renewed.used_fen == 0
    # Live again, the line holds its whole limit against the other products, as any live line does.
    assert credit_services.exposure_fen(credit.h1, excluding_product="dapeng") == renewed.limit_fen
    clean()


def test_an_expired_line_that_was_repaid_is_replaced_and_holds_nothing(line, credit):
    loan = draw(line, 50_000 * Y)
    pay(loan, key="r1", today=LATER, payoff=True)
    CreditLine.objects.filter(pk=line.pk).update(status="expired")
    assert credit_services.exposure_fen(credit.h1) == 0
    fresh = regrant(credit, today=LATER)
    assert fresh.pk != line.pk and fresh.used_fen == 0
    line.refresh_from_db()
    assert line.status == "expired"  # an expired line is not revoked: it stays as it ended
    clean()


def test_the_batch_leaves_an_expired_line_with_loans_to_the_one_by_one_renewal(line, credit):
    draw(line, 80_000 * Y)
    CreditLine.objects.filter(pk=line.pk).update(status="expired")
    with transaction.atomic():
        result = decide_batch(
            [credit.h1.pk],
            actor=credit.users["risk"],
            model=credit_services.active_model(),
            strategy=credit_services.active_strategy(),
            channel="combined",
            as_of=LATER,
        )
    assert result.decided == 1 and result.granted == 0
    assert list(CreditLine.objects.filter(household=credit.h1).values_list("pk", "status", "used_fen")) == [
        (line.pk, "expired", 80_000 * Y)
    ]
    clean()


# The annual re-review job (credit.batch.renew_due_lines, `xinedai credit-renew`) ---------------------

RENEW_ON = dt.date(2027, 6, 10)  # the fixture's lines expire on 2027-06-30


def model_line(credit, household):
    with transaction.atomic():
        decision = credit_services.decide(credit.users["am1"], household=household, today=TODAY)
        return credit_services.grant_line(credit.users["risk"], decision, today=TODAY)


def test_the_renewal_job_renews_drawn_lines_replaces_undrawn_ones_and_leaves_the_rest(line, credit):
    from xinedai.credit.batch import renew_due_lines

    loan = draw(line, 100_000 * Y)
    undrawn = model_line(credit, credit.h2)
    offline = make_line(credit.h3, limit_fen=50_000 * Y, expires_on=dt.date(2027, 6, 20))
    assert renew_due_lines(None, as_of=RENEW_ON, within_days=5).due == 0  # nothing expires by 06-15

    result = renew_due_lines(None, as_of=RENEW_ON, within_days=30)
    assert (result.due, result.replaced, result.renewed, result.held) == (2, 1, 1, [])
    line.refresh_from_db()
    assert line.pk == loan.line_id and line.status == "active" and line.used_fen == 100_000 * Y
    assert line.expires_on == RENEW_ON + dt.timedelta(days=365) and line.decision.source == "renewal"
    undrawn.refresh_from_db()
    assert undrawn.status == "revoked"
    fresh = CreditLine.objects.get(household=credit.h2, status="active")
    assert fresh.expires_on == RENEW_ON + dt.timedelta(days=365) and fresh.used_fen == 0
    offline.refresh_from_db()
    assert (offline.status, offline.expires_on) == ("active", dt.date(2027, 6, 20))  # an officer's line
    clean()
    # Run again: what it renewed expires a year later, so nothing is due.
    again = renew_due_lines(None, as_of=RENEW_ON, within_days=30)
    assert (again.due, again.replaced, again.renewed) == (0, 0, 0)


def test_a_drawn_line_the_new_decision_cannot_cover_is_left_for_a_person(line, credit):
    from xinedai.credit.batch import renew_due_lines
    from xinedai.credit.models import CreditDecision

    draw(line, 205_000 * Y)
    # another product's line: its limit comes off the new 信e贷 limit
    make_line(credit.h1, product_code="dapeng", limit_fen=150_000 * Y, expires_on=dt.date(2028, 1, 1))
    before = CreditLine.objects.values_list("pk", "status", "limit_fen", "used_fen", "expires_on").get(pk=line.pk)
    result = renew_due_lines(None, as_of=RENEW_ON, within_days=30)
    assert (result.due, result.renewed, result.held) == (1, 0, [(line.pk, "limit_below_used")])
    after = CreditLine.objects.values_list("pk", "status", "limit_fen", "used_fen", "expires_on").get(pk=line.pk)
    assert after == before
    kept = CreditDecision.objects.filter(household=credit.h1, source="renewal").get()  # the re-review's record
    assert kept.inputs["exposure_fen"] == 150_000 * Y and 0 < kept.limit_fen < 205_000 * Y
    clean()


def test_the_renewal_command_prints_what_it_did(line, credit, capsys):
    from django.core.management import call_command

    draw(line, 100_000 * Y)
    call_command("credit_renew", "--date", RENEW_ON.isoformat(), "--within", "30")
    out = capsys.readouterr().out
    assert "2027-06-10: 1 lines due" in out and "1 drawn renewed in place" in out and "0 left for review" in out
    clean()
