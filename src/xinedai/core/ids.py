"""Identity numbers: resident ID (GB 11643) and unified social credit code (GB 32100), via python-stdnum.

Two gaps in python-stdnum are handled as domain.md says: its birth-place check rejects real people
whose county code post-dates their birth (we keep that as a warning), and its USCC validate() rejects
valid codes that start with a letter (village collectives, N2...), so those use the format rule plus
its check-digit function.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from .errors import ValidationFailed

# Lending age band (policy): a borrower of record is 18 to 65 at application. Members may be any age.
BORROWER_MIN_AGE = 18
BORROWER_MAX_AGE = 65


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: dt.date
    is_male: bool
    warnings: list[str] = field(default_factory=list)


def _fail(code: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(zh, en, code=code, field="id_number")


def age_on(birth_date: dt.date, on: dt.date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def parse_resident_id(value: str, *, today: dt.date) -> ResidentId:
    """Validate an 18-character resident ID number and return what it says. Raises ValidationFailed."""
    number = ric.compact(str(value or "")).upper()
    if len(number) != 18:
        raise _fail("id_length", "身份证号应为18位", "A resident ID number has 18 characters")
    if not number[:-1].isdigit() or not (number[-1].isdigit() or number[-1] == "X"):
        raise _fail("id_format", "身份证号格式不正确", "The resident ID number has an invalid format")
    if number[-1] != ric.calc_check_digit(number):
        raise _fail("id_checksum", "身份证号校验位错误", "The resident ID number's check digit is wrong")
    try:
        birth = ric.get_birth_date(number)
    except StdnumError:
        raise _fail(
            "id_birth_date", "身份证号中的出生日期不存在", "The birth date in the ID number does not exist"
        ) from None
    if birth > today:
        raise _fail("id_future_birth", "身份证号中的出生日期在未来", "The birth date in the ID number is in the future")
    if birth.year < 1900:
        raise _fail("id_birth_date", "身份证号中的出生日期不合理", "The birth date in the ID number is implausible")
    warnings = [] if known_birth_place(number[:6], birth.year) else ["id_birth_place_unknown"]
    return ResidentId(number=number, birth_date=birth, is_male=int(number[16]) % 2 == 1, warnings=warnings)


@functools.lru_cache(maxsize=8192)
def known_birth_place(area: str, year: int) -> bool:
    """Whether stdnum knows the 6-digit area code as a county in the birth year. Its answer depends on
    nothing else, and finding it scans stdnum's county table (~0.4 ms of every channel request, which
    parses the customer's ID number), so it is kept per area and year: a few thousand pairs at most."""
    try:
        ric.get_birth_place(f"{area}{year:04d}01010000")
    except StdnumError:
        return False
    return True


def check_borrower_age(resident: ResidentId, *, today: dt.date) -> None:
    age = age_on(resident.birth_date, today)
    if not BORROWER_MIN_AGE <= age <= BORROWER_MAX_AGE:
        raise _fail(
            "id_age_band",
            f"户主年龄{age}岁,不在{BORROWER_MIN_AGE}至{BORROWER_MAX_AGE}岁的贷款年龄范围内",
            f"The head is {age}, outside the lending age band {BORROWER_MIN_AGE}-{BORROWER_MAX_AGE}",
        )


def make_resident_id(area: str, birth: dt.date, sequence: int) -> str:
    """Build a valid ID number (demo data and tests): 6-digit area, birth date, 3-digit sequence."""
    body = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


_USCC_FORMAT = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def validate_uscc(value: str) -> str:
    """Validate a unified social credit code, letter-prefixed codes (N2..., village collectives) included."""
    number = uscc.compact(str(value or "")).upper()
    if not _USCC_FORMAT.match(number):
        raise ValidationFailed(
            "统一社会信用代码格式不正确",
            "The unified social credit code has an invalid format",
            code="uscc_format",
            field="uscc",
        )
    if number[-1] != uscc.calc_check_digit(number):
        raise ValidationFailed(
            "统一社会信用代码校验位错误",
            "The unified social credit code's check digit is wrong",
            code="uscc_checksum",
            field="uscc",
        )
    return number


_PHONE = re.compile(r"^1[3-9]\d{9}$")


def normalize_mobile(value: str) -> str:
    """A mainland mobile number: 11 digits starting 13-19 (+86 / spaces / dashes removed)."""
    v = re.sub(r"[\s\-]", "", str(value or ""))
    if v.startswith("+86"):
        v = v[3:]
    elif v.startswith("86") and len(v) == 13:
        v = v[2:]
    if not _PHONE.match(v):
        raise ValidationFailed(
            "手机号应为11位大陆手机号", "Not an 11-digit mainland mobile number", code="phone_format", field="phone"
        )
    return v
