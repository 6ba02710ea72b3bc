"""Roster import: every row checked, all or nothing, row-level errors, CLI, page and background job."""

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.db import transaction

from xinedai.core.models import AuditEntry
from xinedai.households.models import FileVersion, Household, ImportJob, Member
from xinedai.households.roster import RosterRejected, import_roster

from ..conftest import TODAY, pid

HEADER_ZH = [
    "村编码",
    "户主姓名",
    "身份证号",
    "手机号",
    "家庭人口",
    "年收入(元)",
    "年支出(元)",
    "总资产(元)",
    "总负债(元)",
    "大棚(元)",
    "客群",
]
HEADER_EN = [
    "village_code",
    "head_name",
    "id_number",
    "phone",
    "members",
    "annual_income_yuan",
    "annual_expenses_yuan",
    "assets_yuan",
    "liabilities_yuan",
    "asset_greenhouse_yuan",
    "segments",
]


def good_rows(n: int, start: int = 100, village: str = "V1") -> list[list[str]]:
    return [
        [
            village,
            f"刘{i}",
            pid(start + i),
            f"139{start + i:08d}",
            "4",
            "120000.50",
            "60000",
            "800000",
            "50000",
            "200000",
            "大棚种植",
        ]
        for i in range(n)
    ]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER_ZH) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def counts():
    return Household.objects.count(), Member.objects.count(), FileVersion.objects.count(), AuditEntry.objects.count()


def test_good_csv_imports_every_row(bank, tmp_path):
    path = write_csv(tmp_path / "roster.csv", good_rows(5))
    with transaction.atomic():
        report = import_roster(path, bank.users["am1"], today=TODAY)
    assert report.imported == 5 and report.total_rows == 5
    h = Household.objects.get(head_name="刘0")
    f = h.current_file
    assert f.version == 1 and f.source == "import"
    assert f.annual_income_fen == 12_000_050 and f.income_other_fen == 12_000_050
    assert f.asset_greenhouse_fen == 20_000_000 and f.asset_other_fen == 60_000_000
    assert f.total_assets_fen == 80_000_000 and f.total_liabilities_fen == 5_000_000
    assert h.segment_list == ["greenhouse"] and h.size == 4 and h.three_elements_complete
    assert AuditEntry.objects.filter(action="households.household.import").count() == 5


def test_english_headers_and_xlsx(bank, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER_EN)
    for row in good_rows(3):
        row[4] = 4  # numbers typed as numbers in Excel
        row[5] = 120000.5
        ws.append(row)
    path = tmp_path / "roster.xlsx"
    wb.save(path)
    with transaction.atomic():
        report = import_roster(path, bank.users["am1"], today=TODAY)
    assert report.imported == 3
    assert Household.objects.get(head_name="刘1").current_file.annual_income_fen == 12_000_050


def test_any_bad_row_means_nothing_is_imported_and_each_problem_is_named(bank, tmp_path):
    rows = good_rows(6)
    rows[1][2] = rows[1][2][:-1] + ("0" if rows[1][2][-1] != "0" else "1")  # bad check digit (row 3)
    rows[2][5] = "12.345"  # three decimals (row 4)
    rows[3][0] = "V3"  # out of am1's scope (row 5)
    rows[4][2] = rows[0][2]  # duplicate of row 2 within the file (row 6)
    rows[5][2] = pid(1)  # already on file at the bank (row 7)
    path = write_csv(tmp_path / "roster.csv", rows)
    before = counts()
    with pytest.raises(RosterRejected) as err, transaction.atomic():
        import_roster(path, bank.users["am1"], today=TODAY)
    got = {(e.row, e.column) for e in err.value.report.errors}
    assert got == {(3, "id_number"), (4, "annual_income_yuan"), (5, "village_code"), (6, "id_number"), (7, "id_number")}
    assert counts() == before


def test_missing_columns_and_details_over_total(bank, tmp_path):
    path = write_csv(tmp_path / "a.csv", [["V1", "x"]], header=["村编码", "户主姓名"])
    with pytest.raises(RosterRejected) as err, transaction.atomic():
        import_roster(path, bank.users["am1"], today=TODAY)
    assert {e.column for e in err.value.report.errors} >= {"id_number", "phone", "assets_yuan"}
    rows = good_rows(1)
    rows[0][9] = "900000"  # greenhouse detail above total assets
    path = write_csv(tmp_path / "b.csv", rows)
    with pytest.raises(RosterRejected) as err, transaction.atomic():
        import_roster(path, bank.users["am1"], today=TODAY)
    assert [(e.row, e.column) for e in err.value.report.errors] == [(2, "assets_yuan")]


def test_dry_run_checks_but_imports_nothing(bank, tmp_path):
    path = write_csv(tmp_path / "roster.csv", good_rows(3))
    before = counts()
    with transaction.atomic():
        report = import_roster(path, bank.users["am1"], today=TODAY, dry_run=True)
    assert report.total_rows == 3 and report.imported == 0
    assert counts() == before


def test_cli_prints_one_line_per_problem_and_exits_1(bank, tmp_path, capsys):
    rows = good_rows(3)
    rows[2][2] = "123"
    path = write_csv(tmp_path / "roster.csv", rows)
    before = counts()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_households", str(path), "--as-user", "am1")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "row 4" in out[0] and "id_number" in out[0]
    assert counts() == before


def test_cli_imports_and_writes_template(bank, tmp_path, capsys):
    path = write_csv(tmp_path / "roster.csv", good_rows(2))
    call_command("import_households", str(path), "--as-user", "am1")
    assert "imported 2" in capsys.readouterr().out
    template = tmp_path / "t.xlsx"
    call_command("import_households", "--template", str(template))
    header = [c.value for c in openpyxl.load_workbook(template).active[1]]
    assert header[:9] == HEADER_ZH[:9]


def test_page_upload_small_file_runs_inline(bank, tmp_path):
    content = io.StringIO()
    w = csv.writer(content)
    w.writerow(HEADER_ZH)
    w.writerows(good_rows(2))
    upload = io.BytesIO(content.getvalue().encode())
    upload.name = "r.csv"
    client = bank.client("am1")
    resp = client.post("/imports/", {"file": upload})
    assert resp.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == "done" and job.imported_rows == 2
    page = client.get(resp["Location"]).content.decode()
    assert "2" in page and "hx-trigger" not in page


def test_page_upload_large_file_goes_to_background_job(bank, tmp_path, settings, django_capture_on_commit_callbacks):
    settings.XINEDAI_IMPORT_INLINE_MAX_ROWS = 2
    rows = good_rows(4)
    rows[3][3] = "12"  # a bad phone: the job must reject everything
    content = io.StringIO()
    w = csv.writer(content)
    w.writerow(HEADER_ZH)
    w.writerows(rows)
    upload = io.BytesIO(content.getvalue().encode())
    upload.name = "big.csv"
    before = counts()
    client = bank.client("am1")
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post("/imports/", {"file": upload})
    job = ImportJob.objects.get()
    assert job.status == "failed" and job.errors == [
        {"row": 5, "column": "phone", "reason": "手机号应为11位大陆手机号 Not an 11-digit mainland mobile number"}
    ]
    assert counts()[:3] == before[:3]
    page = client.get(resp["Location"], headers={"HX-Request": "true"})
    assert "手机号应为11位大陆手机号" in page.content.decode()


def test_import_needs_permission(bank):
    assert bank.client("co").get("/imports/").status_code == 403
    assert bank.client("am1").get("/imports/template.xlsx").status_code == 200
