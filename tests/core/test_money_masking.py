"""Money parsing/formatting and the masking patterns."""

from decimal import Decimal

import pytest

from xinedai.core.masking import mask_id_number, mask_mapping, mask_name, mask_phone
from xinedai.core.money import Money, MoneyParseError, format_yuan, parse_yuan, round_fen


@pytest.mark.parametrize(
    ("text", "fen"), [("12,345.60", 1234560), ("0.01", 1), (12, 1200), (Decimal("1.2"), 120), ("￥8", 800)]
)
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["1.234", "-1", "abc", "", "NaN", 1.5])
def test_parse_yuan_refuses(text):
    with pytest.raises(MoneyParseError):
        parse_yuan(text)


def test_round_half_up_and_format():
    assert round_fen(Decimal("2.5")) == 3
    assert round_fen(Decimal("-2.5")) == -3
    assert format_yuan(123456789) == "1,234,567.89"
    assert format_yuan(-5) == "-0.05"
    assert str(Money(100) + Money(1)) == "1.01"
    with pytest.raises(TypeError):
        Money(1.0)  # type: ignore[arg-type]


def test_masking_patterns():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_id_number("370211198503171234") == "3****************4"
    assert "19850317" not in mask_id_number("370211198503171234")
    assert mask_name("张三丰") == "张**"
    assert mask_name("王五") == "王*"
    assert mask_name("欧阳修文") == "欧阳**"
    assert mask_mapping({"phone": "13812341234", "size": 3}) == {"phone": "138****1234", "size": 3}
