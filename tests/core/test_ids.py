"""Resident ID and USCC validation, table by table (python-stdnum underneath)."""

import datetime as dt

import pytest

from xinedai.core.errors import ValidationFailed
from xinedai.core.ids import (
    check_borrower_age,
    make_resident_id,
    normalize_mobile,
    parse_resident_id,
    validate_uscc,
)

TODAY = dt.date(2026, 6, 30)
VALID = make_resident_id("370211", dt.date(1985, 3, 17), 123)


def test_valid_id_gives_birth_date_and_sex():
    rid = parse_resident_id(VALID, today=TODAY)
    assert rid.number == VALID
    assert rid.birth_date == dt.date(1985, 3, 17)
    assert rid.is_male is True  # 17th digit 3 is odd
    assert rid.warnings == []


def test_lowercase_x_and_spaces_are_normalised():
    body = "11010519491231002"
    number = make_resident_id("110105", dt.date(1949, 12, 31), 2)
    assert number.startswith(body)
    assert parse_resident_id(" " + number.lower() + " ", today=TODAY).number == number


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (VALID[:-1] + ("0" if VALID[-1] != "0" else "1"), "id_checksum"),
        (VALID[:17], "id_length"),
        ("37021119850317A23" + "4", "id_format"),
        (make_resident_id("370211", dt.date(1985, 1, 1), 5)[:10] + "0230" + "0051", "id_birth_date"),
        (make_resident_id("370211", dt.date(2027, 1, 1), 5), "id_future_birth"),
        ("", "id_length"),
    ],
)
def test_invalid_ids_are_refused_with_a_stable_code(value, code):
    if code == "id_birth_date":
        # Feb 30th with a correct check digit: only the date is wrong.
        from stdnum.cn import ric

        body = value[:17]
        value = body + ric.calc_check_digit(body + "0")
    with pytest.raises(ValidationFailed) as err:
        parse_resident_id(value, today=TODAY)
    assert err.value.code == code
    assert err.value.field == "id_number"


def test_county_code_newer_than_birth_is_a_warning_not_a_rejection():
    # 370211 (Huangdao district) was created long after 1930; stdnum's place check fails, we only warn.
    number = make_resident_id("370211", dt.date(1930, 5, 5), 7)
    rid = parse_resident_id(number, today=TODAY)
    assert "id_birth_place_unknown" in rid.warnings


@pytest.mark.parametrize(
    ("birth", "ok"),
    [
        (dt.date(2008, 7, 1), False),
        (dt.date(2008, 6, 30), True),
        (dt.date(1960, 6, 30), False),
        (dt.date(1961, 7, 1), True),
    ],
)
def test_borrower_age_band(birth, ok):
    rid = parse_resident_id(make_resident_id("370211", birth, 1), today=TODAY)
    if ok:
        check_borrower_age(rid, today=TODAY)
    else:
        with pytest.raises(ValidationFailed) as err:
            check_borrower_age(rid, today=TODAY)
        assert err.value.code == "id_age_band"


def test_uscc_letter_prefixed_village_collective_is_accepted():
    from stdnum.cn import uscc

    body = "N2370211MA3C0000"
    body = body + "0"
    code = body + uscc.calc_check_digit(body + "0")
    assert validate_uscc(code) == code
    with pytest.raises(ValidationFailed) as err:
        validate_uscc(code[:-1] + ("0" if code[-1] != "0" else "1"))
    assert err.value.code == "uscc_checksum"


@pytest.mark.parametrize(("raw", "out"), [("13812341234", "13812341234"), ("+86 138-1234-1234", "13812341234")])
def test_mobile_numbers(raw, out):
    assert normalize_mobile(raw) == out


@pytest.mark.parametrize("raw", ["1381234123", "23812341234", "abc"])
def test_bad_mobile_numbers(raw):
    with pytest.raises(ValidationFailed):
        normalize_mobile(raw)


@pytest.mark.parametrize(
    ("area", "birth"),
    [
        ("370211", dt.date(1930, 5, 5)),  # Huangdao: created after 1930
        ("370211", dt.date(1995, 12, 31)),
        ("370203", dt.date(1970, 1, 1)),
        ("110105", dt.date(1949, 12, 31)),
        ("999999", dt.date(1980, 6, 1)),  # no such area
        ("370281", dt.date(1989, 2, 28)),
    ],
)
def test_the_kept_birth_place_answer_is_stdnums_answer_for_the_full_number(area, birth):
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError

    number = make_resident_id(area, birth, 42)
    try:
        ric.get_birth_place(number)
        stdnum_knows = True
    except ValidationError:
        stdnum_knows = False
    for _ in range(2):  # computed, then kept
        assert ("id_birth_place_unknown" not in parse_resident_id(number, today=TODAY).warnings) is stdnum_knows
