"""Household files: versions, differences, validation next to the field, documents, audit rows."""

import datetime as dt
import io

import pytest
from django.db import transaction

from xinedai.core.errors import ValidationFailed
from xinedai.core.models import AuditEntry
from xinedai.households import rules, services
from xinedai.households.models import Document, FileVersion, Household, Member

from ..conftest import TODAY, close_response, file_values, pid

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%test\n"


def test_every_save_is_a_new_version_with_who_when_why(bank):
    client = bank.client("am1")
    resp = client.post(
        f"/households/{bank.h1.pk}/file/",
        {
            "reason": "年度复核",
            "asset_house_fen": "650000.00",
            "asset_deposit_fen": "80000",
            "liab_bank_fen": "20000",
            "income_planting_fen": "150000.50",
            "expense_living_fen": "50000",
            "credit_overdue_count_24m": "1",
        },
    )
    assert resp.status_code == 302
    h = Household.objects.get(pk=bank.h1.pk)
    v2 = h.current_file
    assert v2.version == 2 and v2.reason == "年度复核" and v2.created_by == bank.users["am1"]
    assert v2.asset_house_fen == 65_000_000 and v2.income_planting_fen == 15_000_050
    assert v2.total_assets_fen == 65_000_000 + 8_000_000
    assert v2.annual_income_fen == 15_000_050
    assert v2.credit_overdue_count_24m == 1
    v1 = FileVersion.objects.get(household=h, version=1)
    assert v1.asset_house_fen == 50_000_000  # earlier versions are never changed
    entry = AuditEntry.objects.filter(action="households.file.save", object_id=str(v2.pk)).get()
    assert entry.before["asset_house_fen"] == 50_000_000 and entry.after["asset_house_fen"] == 65_000_000
    assert entry.reason == "年度复核"


def test_diff_between_versions_is_shown(bank):
    with transaction.atomic():
        services.save_file_version(bank.users["am1"], bank.h1, file_values(asset_house_fen=60_000_000), reason="复核")
    page = bank.client("am1").get(f"/households/{bank.h1.pk}/file/diff/?a=1&b=2")
    text = page.content.decode()
    assert page.status_code == 200
    assert "500,000.00" in text and "600,000.00" in text and "100,000.00" in text
    changes = rules.diff(file_values(), file_values(asset_house_fen=60_000_000))
    assert {c.field for c in changes} == {"asset_house_fen", "total_assets_fen"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("asset_house_fen", "-5", "0"),
        ("asset_house_fen", "12.345", "2"),
        ("credit_inquiries_6m", "-1", "0"),
        ("reason", "", ""),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(bank, field, value, message):
    data = {"reason": "复核", "asset_house_fen": "500000"}
    data[field] = value
    resp = bank.client("am1").post(f"/households/{bank.h1.pk}/file/", data)
    assert resp.status_code == 200
    form = resp.context["form"]
    assert field in form.errors
    assert message in " ".join(form.errors[field])
    assert FileVersion.objects.filter(household=bank.h1).count() == 1


def test_unchanged_file_is_refused(bank):
    before = FileVersion.objects.count()
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.save_file_version(bank.users["am1"], bank.h1, file_values(), reason="again")
    assert err.value.code == "file_unchanged"
    assert FileVersion.objects.count() == before


def test_amount_as_float_is_refused(bank):
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.save_file_version(bank.users["am1"], bank.h1, {"asset_house_fen": 1.5}, reason="x")
    assert err.value.code == "amount_type"


def test_one_person_one_household(bank):
    before = (Household.objects.count(), Member.objects.count(), AuditEntry.objects.count())
    resp = bank.client("am1").post(
        "/households/new/",
        {
            "village": bank.v1.pk,
            "head_name": "赵六",
            "id_number": pid(1),
            "phone": "13900001111",
            "size": 2,
            "file-reason": "",
        },
    )
    assert resp.status_code == 200
    assert "一人只能属于一户" in " ".join(resp.context["form"].errors["id_number"])
    assert (Household.objects.count(), Member.objects.count(), AuditEntry.objects.count()) == before


def test_create_household_from_page(bank):
    resp = bank.client("am1").post(
        "/households/new/",
        {
            "village": bank.v1.pk,
            "head_name": "赵六",
            "id_number": pid(40),
            "phone": "13900001111",
            "size": 2,
            "segments": ["breeder"],
            "file-asset_livestock_fen": "30000",
            "file-reason": "",
        },
    )
    assert resp.status_code == 302
    h = Household.objects.get(head_name="赵六")
    assert h.segment_list == ["breeder"] and h.three_elements_complete
    assert h.current_file.asset_livestock_fen == 3_000_000
    assert AuditEntry.objects.filter(action="households.household.create", object_id=str(h.pk)).exists()


def test_village_outside_scope_cannot_be_chosen(bank):
    resp = bank.client("am2").post(
        "/households/new/", {"village": bank.v3.pk, "head_name": "赵六", "id_number": pid(41), "size": 2}
    )
    assert resp.status_code == 200
    assert "village" in resp.context["form"].errors
    assert not Household.objects.filter(head_name="赵六").exists()


def test_members_and_three_elements(bank):
    h = bank.h1
    with transaction.atomic():
        services.save_member(
            bank.users["am1"], h, services.PersonInput("张小", pid(50, 2010), None, "child"), reason="新生", today=TODAY
        )
    assert h.members.count() == 2
    head = h.members.get(relation="head")
    with transaction.atomic():
        services.save_member(
            bank.users["am1"],
            h,
            services.PersonInput(head.name, head.id_number, None, "head"),
            member=head,
            reason="停机",
            today=TODAY,
        )
    h.refresh_from_db()
    assert h.three_elements_complete is False
    assert AuditEntry.objects.filter(action="households.member.update").get().before == {
        "member_name": "张**",
        "id_number": head.id_number[0] + "*" * 16 + head.id_number[-1],
        "phone": "138****0001",
        "relation": "head",
    }
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.save_member(bank.users["am1"], h, services.PersonInput("王二", pid(51), None, "head"), today=TODAY)
    assert err.value.code == "head_exists"


def test_document_upload_and_download(bank):
    client = bank.client("am1")
    upload = io.BytesIO(PNG)
    upload.name = "greenhouse.png"
    resp = client.post(
        f"/households/{bank.h1.pk}/documents/", {"kind": "greenhouse_photo", "dated_on": "2026-05-01", "file": upload}
    )
    assert resp.status_code == 302
    doc = Document.objects.get()
    assert doc.file_version == bank.h1.current_file and doc.content_type == "image/png"
    with doc.file.open("rb") as fh:
        assert fh.read() == PNG
    assert AuditEntry.objects.filter(action="households.document.attach", object_id=str(doc.pk)).exists()
    got = client.get(f"/documents/{doc.pk}/")
    assert got.status_code == 200 and b"".join(got.streaming_content) == PNG
    close_response(got)
    assert bank.client("am3").get(f"/documents/{doc.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("content", "kind", "dated_on", "field"),
    [
        (b"MZ\x90\x00 not a photo", "other", "2026-05-01", "file"),
        (PDF, "other", "2099-01-01", "dated_on"),
        (PDF, "", "2026-05-01", "kind"),
    ],
)
def test_bad_documents_are_refused(bank, content, kind, dated_on, field):
    upload = io.BytesIO(content)
    upload.name = "x.pdf"
    resp = bank.client("am1").post(
        f"/households/{bank.h1.pk}/documents/", {"kind": kind, "dated_on": dated_on, "file": upload}
    )
    assert resp.status_code == 422
    assert field in resp.context["doc_form"].errors
    assert Document.objects.count() == 0


def test_document_size_limit(bank, settings):
    settings.XINEDAI_DOCUMENT_MAX_BYTES = 100
    with pytest.raises(ValidationFailed) as err, transaction.atomic():
        services.attach_document(
            bank.users["am1"],
            bank.h1,
            kind="other",
            dated_on=dt.date(2026, 1, 1),
            name="a.pdf",
            content=PDF + b"x" * 200,
            max_bytes=100,
            today=TODAY,
        )
    assert err.value.code == "document_too_large"


def test_household_edit_page_is_audited(bank):
    resp = bank.client("am1").post(
        f"/households/{bank.h1.pk}/edit/",
        {"size": 5, "address": "东村8号", "segments": ["greenhouse", "breeder"], "reason": "新增人口"},
    )
    assert resp.status_code == 302
    h = Household.objects.get(pk=bank.h1.pk)
    assert (h.size, h.address, h.segment_list) == (5, "东村8号", ["breeder", "greenhouse"])
    entry = AuditEntry.objects.get(action="households.household.update")
    assert entry.before == {"address": "", "size": 3, "segments": ",greenhouse,", "village_id": bank.v1.pk}
    assert entry.after["size"] == 5 and entry.after["segments"] == ",breeder,greenhouse," and entry.reason == "新增人口"


def test_household_edit_refuses_bad_size_and_keeps_the_row(bank):
    resp = bank.client("am1").post(f"/households/{bank.h1.pk}/edit/", {"size": 0, "reason": "x"})
    assert resp.status_code == 200 and "size" in resp.context["form"].errors
    assert Household.objects.get(pk=bank.h1.pk).size == 3
    assert not AuditEntry.objects.filter(action="households.household.update").exists()
