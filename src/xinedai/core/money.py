"""Money as integer fen (分): the one value type and the one rounding function."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN_PER_YUAN = 100


def round_fen(amount: Decimal) -> int:
    """Round a fen amount held as Decimal to whole fen (ROUND_HALF_UP): the only rounding point."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class MoneyParseError(ValueError):
    """A text that is not an amount of yuan with at most two decimals."""


def parse_yuan(text: str | int | Decimal, *, allow_negative: bool = False) -> int:
    """Parse a yuan amount ('12,345.60', 12345, Decimal('1.2')) into fen, exactly.

    Floats are refused: they cannot carry an exact amount of money.
    """
    if isinstance(text, float):
        raise MoneyParseError("float amounts are not accepted")
    raw = str(text).strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    if raw == "":
        raise MoneyParseError("empty amount")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise MoneyParseError(f"not a number: {text!r}") from exc
    if not value.is_finite():
        raise MoneyParseError(f"not a number: {text!r}")
    fen = value * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise MoneyParseError(f"more than two decimals: {text!r}")
    if fen < 0 and not allow_negative:
        raise MoneyParseError(f"negative amount: {text!r}")
    return int(fen)


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An exact amount in fen. Arithmetic stays in integers; display is in yuan."""

    fen: int

    def __post_init__(self) -> None:
        if not isinstance(self.fen, int) or isinstance(self.fen, bool):
            raise TypeError("Money holds an int number of fen")

    @classmethod
    def yuan(cls, text: str | int | Decimal) -> Money:
        return cls(parse_yuan(text, allow_negative=True))

    def __add__(self, other: Money) -> Money:
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        return Money(self.fen - other.fen)

    def __neg__(self) -> Money:
        return Money(-self.fen)

    def as_decimal_yuan(self) -> Decimal:
        return Decimal(self.fen) / FEN_PER_YUAN

    def __str__(self) -> str:
        return format_yuan(self.fen)


def format_yuan(fen: int | None, *, decimals: bool = True) -> str:
    """12345678 -> '123,456.78' (no float on the way)."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), FEN_PER_YUAN)
    if decimals:
        return f"{sign}{whole:,}.{cents:02d}"
    return f"{sign}{whole + (1 if cents >= 50 else 0):,}"


def format_wan(fen: int | None) -> str:
    """Amount in 万元 with two decimals, as Chinese bank reports show it (exact, half-up)."""
    if fen is None:
        return "—"
    return f"{Decimal(fen) / 1_000_000:,.2f}".rstrip()
