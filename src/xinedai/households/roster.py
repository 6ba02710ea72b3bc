"""Roster import (花名册导入): read an .xlsx or .csv, validate every row, then import all rows or none.

A service module: runs inside the caller's transaction, writes audit rows, never commits.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from xinedai.core import audit
from xinedai.core.bulk import BulkLoader
from xinedai.core.dates import now
from xinedai.core.errors import BusinessError
from xinedai.core.masking import mask_name
from xinedai.core.money import MoneyParseError, parse_yuan
from xinedai.org.access import villages_for

from . import rules
from .choices import Relation
from .models import FileVersion, Household, Member
from .services import PersonInput, clean_person, household_code

Progress = Callable[[str, int, int], None]

# (code name, Chinese header, required). Amounts are in yuan with at most two decimals.
COLUMNS: list[tuple[str, str, bool]] = [
    ("village_code", "村编码", True),
    ("head_name", "户主姓名", True),
    ("id_number", "身份证号", True),
    ("phone", "手机号", True),
    ("members", "家庭人口", True),
    ("annual_income_yuan", "年收入(元)", True),
    ("annual_expenses_yuan", "年支出(元)", True),
    ("assets_yuan", "总资产(元)", True),
    ("liabilities_yuan", "总负债(元)", True),
    ("address", "地址", False),
    ("segments", "客群", False),
    ("asset_house_yuan", "房产(元)", False),
    ("asset_land_yuan", "土地承包经营权(元)", False),
    ("asset_greenhouse_yuan", "大棚(元)", False),
    ("asset_livestock_yuan", "畜禽存栏(元)", False),
    ("asset_vehicle_yuan", "车辆(元)", False),
    ("asset_deposit_yuan", "存款(元)", False),
    ("asset_equipment_yuan", "经营设备(元)", False),
    ("liab_bank_yuan", "银行贷款(元)", False),
    ("liab_private_yuan", "民间借贷(元)", False),
    ("income_planting_yuan", "种植收入(元)", False),
    ("income_breeding_yuan", "养殖收入(元)", False),
    ("income_business_yuan", "经营收入(元)", False),
    ("income_wages_yuan", "工资收入(元)", False),
    ("income_transfer_yuan", "转移性收入(元)", False),
    ("expense_living_yuan", "生活支出(元)", False),
    ("expense_production_yuan", "生产支出(元)", False),
    ("credit_current_overdue_yuan", "当前逾期金额(元)", False),
    ("credit_existing_limit_yuan", "他行授信额度(元)", False),
    ("credit_overdue_count_24m", "近24个月逾期次数", False),
    ("credit_inquiries_6m", "近6个月征信查询次数", False),
    ("credit_existing_lines", "他行授信笔数", False),
]
REQUIRED = [c for c, _, req in COLUMNS if req]
ZH = {c: zh for c, zh, _ in COLUMNS}
TOTAL_COLUMNS = {
    "assets": "assets_yuan",
    "liabilities": "liabilities_yuan",
    "income": "annual_income_yuan",
    "expenses": "annual_expenses_yuan",
}
SEGMENT_WORDS = {
    "大棚种植": "greenhouse",
    "大棚": "greenhouse",
    "greenhouse": "greenhouse",
    "养殖大户": "breeder",
    "养殖": "breeder",
    "breeder": "breeder",
    "个体工商户": "business",
    "个体": "business",
    "business": "business",
    "小微企业主": "smb_owner",
    "smb_owner": "smb_owner",
    "工薪": "salaried",
    "salaried": "salaried",
    "其他": "other",
    "other": "other",
}
MAX_ROWS = 1_000_000


def _norm(text: Any) -> str:
    s = str(text or "").strip().lower().replace("（", "(").replace("）", ")")
    return re.sub(r"\s+", "", s)


_ALIASES: dict[str, str] = {}
for _code, _zh, _ in COLUMNS:
    for _form in (_code, _zh, f"{_zh}{_code}", f"{_code}{_zh}", f"{_zh}({_code})", f"{_zh}/{_code}"):
        _ALIASES[_norm(_form)] = _code
    _ALIASES[_norm(_zh.replace("(元)", ""))] = _code


@dataclass
class RowError:
    row: int
    column: str
    reason: str

    def line(self) -> str:
        col = f"{ZH.get(self.column, self.column)}({self.column})" if self.column else "-"
        return f"第{self.row}行 row {self.row} · {col}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class CleanRow:
    row: int
    village_code: str
    person: Any
    size: int
    address: str
    segments: list[str]
    values: dict[str, int]
    village: Any = None


@dataclass
class ImportReport:
    total_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    imported: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


class RosterRejected(BusinessError):
    code = "roster_rejected"
    status = 422

    def __init__(self, report: ImportReport) -> None:
        super().__init__(
            f"花名册有{len(report.errors)}处错误,未导入任何一行",
            f"The roster has {len(report.errors)} problems; nothing was imported",
            errors=[e.as_dict() for e in report.errors[:1000]],
        )
        self.report = report


def read_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    """Return the header cells and an iterator of (spreadsheet row number, cells)."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise BusinessError(
                "无法读取该Excel文件", "The Excel file cannot be read", code="roster_unreadable", detail=str(exc)[:200]
            ) from exc
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = [str(c) if c is not None else "" for c in next(it, ())]

        def gen() -> Iterator[tuple[int, list[Any]]]:
            for n, cells in enumerate(it, start=2):
                yield n, list(cells)
            wb.close()

        return header, gen()
    if suffix == ".csv":
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise BusinessError(
                "CSV文件编码无法识别(请用UTF-8或GBK)", "Unknown CSV encoding (use UTF-8 or GBK)", code="roster_encoding"
            )
        reader = csv.reader(io.StringIO(text))
        header = next(reader, [])

        def gen_csv() -> Iterator[tuple[int, list[Any]]]:
            yield from enumerate(reader, start=2)

        return header, gen_csv()
    raise BusinessError("只支持 .xlsx 或 .csv 文件", "Only .xlsx or .csv files are accepted", code="roster_type")


def map_header(header: list[str]) -> tuple[dict[str, int], list[RowError]]:
    mapping: dict[str, int] = {}
    errors: list[RowError] = []
    for idx, cell in enumerate(header):
        key = _ALIASES.get(_norm(cell))
        if key is None:
            if _norm(cell):
                errors.append(RowError(1, str(cell), "未知的列 unknown column"))
            continue
        if key in mapping:
            errors.append(RowError(1, key, "列重复 duplicate column"))
        mapping[key] = idx
    for col in REQUIRED:
        if col not in mapping:
            errors.append(RowError(1, col, "缺少必填列 required column missing"))
    return mapping, errors


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value).strip()


def _amount(value: Any) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, float):
        # Excel stores numbers as binary floats; the shortest repr is what the user typed.
        value = Decimal(repr(value))
    return parse_yuan(value)


def _count(value: Any) -> int:
    t = _text(value)
    if not t:
        return 0
    if not t.isdigit():
        raise ValueError("应为非负整数 must be a whole number")
    return int(t)


def clean_row(
    n: int, cells: list[Any], mapping: dict[str, int], today: dt.date
) -> tuple[CleanRow | None, list[RowError]]:
    def get(col: str) -> Any:
        idx = mapping.get(col)
        return cells[idx] if idx is not None and idx < len(cells) else None

    errors: list[RowError] = []
    village_code = _text(get("village_code"))
    if not village_code:
        errors.append(RowError(n, "village_code", "必填 required"))
    id_raw = get("id_number")
    if isinstance(id_raw, (int, float)) and not isinstance(id_raw, bool):
        errors.append(RowError(n, "id_number", "身份证号须为文本格式(Excel数字会丢失末位) must be text, not a number"))
        id_raw = None
    person = None
    name = _text(get("head_name"))
    id_text = _text(id_raw)
    if not id_text and id_raw is not None:
        pass
    if not name:
        errors.append(RowError(n, "head_name", "必填 required"))
    if not id_text and not any(e.column == "id_number" for e in errors):
        errors.append(RowError(n, "id_number", "必填 required"))
    if name and id_text:
        try:
            person = clean_person(PersonInput(name, id_text, _text(get("phone")) or None, Relation.HEAD), today=today)
        except BusinessError as exc:
            errors.append(RowError(n, exc.field or "id_number", f"{exc.message_zh} {exc.message_en}"))
    size = 0
    try:
        size = _count(get("members"))
        if not 1 <= size <= 30:
            raise ValueError("应在1至30之间 must be 1 to 30")
    except ValueError as exc:
        errors.append(RowError(n, "members", str(exc)))
    values: dict[str, int] = {}
    detail: dict[str, dict[str, int]] = {g: {} for g in TOTAL_COLUMNS}
    group_of = {f: g for g, fields in rules.GROUPS.items() for f in fields}
    for col, _, _ in COLUMNS:
        if col.endswith("_yuan") and col not in TOTAL_COLUMNS.values():
            raw = get(col)
            if raw is None or _text(raw) == "":
                continue
            fname = col[: -len("_yuan")] + "_fen"
            try:
                amount = _amount(raw)
            except MoneyParseError as exc:
                errors.append(RowError(n, col, f"金额无效 invalid amount: {exc}"))
                continue
            group = group_of.get(fname)
            if group in detail:
                detail[group][fname] = amount
            else:
                values[fname] = amount
        elif col.startswith("credit_") and not col.endswith("_yuan"):
            try:
                values[col] = _count(get(col))
            except ValueError as exc:
                errors.append(RowError(n, col, str(exc)))
    for group, col in TOTAL_COLUMNS.items():
        try:
            total = _amount(get(col))
        except MoneyParseError as exc:
            errors.append(RowError(n, col, f"金额无效 invalid amount: {exc}"))
            continue
        spread = rules.spread_total(total, detail[group], rules.OTHER_FIELD[group])
        if spread is None:
            errors.append(RowError(n, col, "分项合计超过总额 the detail columns add up to more than the total"))
            continue
        values.update(spread)
    for fname, why in rules.check_amounts(values).items():
        errors.append(RowError(n, fname, "数值过大 too large" if why == "too_large" else "不能为负 negative"))
    segments: list[str] = []
    seg_text = _text(get("segments"))
    if seg_text:
        for word in re.split(r"[,，、;；/\s]+", seg_text):
            if not word:
                continue
            code = SEGMENT_WORDS.get(word.lower())
            if code is None:
                errors.append(RowError(n, "segments", f"未知客群 unknown segment: {word}"))
            else:
                segments.append(code)
    if errors or person is None:
        return None, errors
    return CleanRow(n, village_code, person, size, _text(get("address"))[:200], segments, values), []


def validate(
    path: Path, user: Any, *, today: dt.date, progress: Progress | None = None, max_errors: int = 5000
) -> tuple[list[CleanRow], ImportReport]:
    """Read and check every row: format, then villages in the user's scope, then duplicate ID numbers."""
    report = ImportReport()
    header, rows = read_rows(path)
    mapping, errors = map_header(header)
    if errors:
        report.errors = errors
        return [], report
    cleaned: list[CleanRow] = []
    seen_ids: dict[str, int] = {}
    raw_rows = [(n, cells) for n, cells in rows if any(_text(c) for c in cells)]
    report.total_rows = len(raw_rows)
    if report.total_rows > MAX_ROWS:
        report.errors.append(RowError(0, "", f"超过{MAX_ROWS}行 more than {MAX_ROWS} rows"))
        return [], report
    if report.total_rows == 0:
        report.errors.append(RowError(2, "", "花名册没有数据行 the roster has no data rows"))
        return [], report
    step = max(1, report.total_rows // 100)
    for i, (n, cells) in enumerate(raw_rows, start=1):
        row, row_errors = clean_row(n, cells, mapping, today)
        if row_errors:
            if len(report.errors) < max_errors:
                report.errors.extend(row_errors)
        elif row is not None:
            first = seen_ids.get(row.person.id_number)
            if first is not None:
                report.errors.append(RowError(n, "id_number", f"与第{first}行身份证号重复 duplicates row {first}"))
            else:
                seen_ids[row.person.id_number] = n
                cleaned.append(row)
        if progress and (i % step == 0 or i == report.total_rows):
            progress("validating", i, report.total_rows)
    codes = {r.village_code for r in cleaned}
    villages = {v.code: v for v in villages_for(user).filter(code__in=codes)} if codes else {}
    for r in cleaned:
        if r.village_code not in villages:
            report.errors.append(
                RowError(
                    r.row,
                    "village_code",
                    f"村编码不存在或不在您的管辖范围内 unknown or out-of-scope village: {r.village_code}",
                )
            )
    ids = list(seen_ids)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        for taken in Member.objects.filter(id_number__in=chunk).values_list("id_number", flat=True):
            report.errors.append(
                RowError(seen_ids[str(taken)], "id_number", "该身份证号已在本行建档 already on file at the bank")
            )
    report.errors.sort(key=lambda e: (e.row, e.column))
    for r in cleaned:
        r.village = villages.get(r.village_code)
    return cleaned, report


def write(
    rows: list[CleanRow], user: Any, *, source_name: str, progress: Progress | None = None, batch_size: int = 10_000
) -> int:
    """Insert validated rows in the caller's transaction: households, heads, file version 1, audit.

    Written column-wise through core.bulk (COPY / executemany) with ids reserved up front, so a
    100,000-row roster is a few bulk statements rather than an ORM round per row.
    """
    at = now()
    actor_id = user.pk if getattr(user, "is_authenticated", False) else None
    reason = f"花名册导入 roster import: {source_name}"[:300]
    loader = BulkLoader()
    total = len(rows)
    done = 0
    for start in range(0, total, batch_size):
        chunk = rows[start : start + batch_size]
        n = len(chunk)
        first_h = loader.reserve(Household, n)
        first_v = loader.reserve(FileVersion, n)
        hids = list(range(first_h, first_h + n))
        vids = list(range(first_v, first_v + n))
        files = [{**r.values, **rules.totals(r.values)} for r in chunk]
        file_columns = {f: [values.get(f, 0) for values in files] for f in FILE_COLUMNS}
        loader.write(
            Household,
            {
                "id": hids,
                "code": [household_code(i) for i in hids],
                "village": [r.village.pk for r in chunk],
                "address": [r.address for r in chunk],
                "size": [r.size for r in chunk],
                "segments": [Household.pack_segments(r.segments) for r in chunk],
                "head_name": [r.person.name for r in chunk],
                "three_elements_complete": [
                    rules.three_elements_complete(r.person.name, r.person.id_number, r.person.phone) for r in chunk
                ],
                "current_file": vids,
                "file_updated_at": [at] * n,
                "created_at": [at] * n,
                "created_by": [actor_id] * n,
            },
        )
        loader.write(
            Member,
            {
                "household": hids,
                "name": [r.person.name for r in chunk],
                "id_number": [r.person.id_number for r in chunk],
                "phone": [r.person.phone for r in chunk],
                "relation": [Relation.HEAD.value] * n,
                "birth_date": [r.person.birth_date for r in chunk],
                "is_male": [r.person.is_male for r in chunk],
            },
        )
        loader.write(
            FileVersion,
            {
                "id": vids,
                "household": hids,
                "version": [1] * n,
                "created_at": [at] * n,
                "created_by": [actor_id] * n,
                "reason": [reason] * n,
                "source": ["import"] * n,
                **file_columns,
            },
        )
        audit.record_many(
            user,
            "households.household.import",
            "households.household",
            [
                (
                    hid,
                    f"{household_code(hid)} {mask_name(r.person.name)}",
                    {
                        "village": r.village_code,
                        "head_name": r.person.name,
                        "id_number": r.person.id_number,
                        "phone": r.person.phone,
                        "size": r.size,
                        "total_assets_fen": f["total_assets_fen"],
                        "annual_income_fen": f["annual_income_fen"],
                    },
                    r.village.grid.outlet.path,
                )
                for hid, r, f in zip(hids, chunk, files, strict=True)
            ],
            reason=reason,
            at=at,
        )
        done += n
        if progress:
            progress("writing", done, total)
    return done


FILE_COLUMNS = rules.FILE_FIELDS + tuple(rules.TOTAL_FIELDS.values())


def import_roster(
    path: Path, user: Any, *, today: dt.date, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Validate, then import all rows or none. Raises RosterRejected with the report on any bad row."""
    rows, report = validate(path, user, today=today, progress=progress)
    report.dry_run = dry_run
    if report.errors:
        raise RosterRejected(report)
    if not dry_run:
        report.imported = write(rows, user, source_name=path.name, progress=progress)
    return report


def write_template(path: Path | IO[bytes]) -> None:
    """An .xlsx template: the columns with Chinese headers, one example row, and a notes sheet."""
    import openpyxl
    from openpyxl.styles import Font, PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.append([zh for _, zh, _ in COLUMNS])
    for cell, (_, _, req) in zip(ws[1], COLUMNS, strict=True):
        cell.font = Font(bold=True, color="FFFFFF" if req else "000000")
        cell.fill = PatternFill("solid", fgColor="B91C1C" if req else "E5E7EB")
    example = {
        "village_code": "VILLAGE-CODE",
        "head_name": "张三",
        "id_number": "(18位身份证号,文本格式)",
        "phone": "13800000000",
        "members": 4,
        "annual_income_yuan": "120000",
        "annual_expenses_yuan": "60000",
        "assets_yuan": "800000",
        "liabilities_yuan": "50000",
        "address": "某某村12号",
        "segments": "大棚种植",
        "asset_house_yuan": "500000",
        "asset_greenhouse_yuan": "200000",
        "income_planting_yuan": "100000",
    }
    ws.append([example.get(code, "") for code, _, _ in COLUMNS])
    for col in ws.columns:
        ws.column_dimensions[col[0].column_letter].width = max(12, len(str(col[0].value)) * 2 + 2)
        for c in col:
            c.number_format = "@"
    notes = wb.create_sheet("说明 Notes")
    notes.append(["列名 header", "英文列名 English header", "必填 required", "说明 notes"])
    for code, zh, req in COLUMNS:
        hint = "金额单位为元,最多两位小数 yuan, at most two decimals" if code.endswith("_yuan") else ""
        if code == "id_number":
            hint = "18位居民身份证号,单元格设为文本 18-character resident ID, as text"
        if code == "segments":
            hint = "大棚种植、养殖大户、个体工商户、小微企业主、工薪、其他"
        notes.append([zh, code, "是 yes" if req else "否 no", hint])
    notes.append([])
    notes.append(["删除示例行后填写;任何一行有错误则整个文件不导入。"])
    notes.append(["Delete the example row; any bad row means nothing is imported."])
    wb.save(path)
