"""The registry of reconciliation checks `xinedai ledger verify` runs after the ledger's own.

Other domains register theirs without the ledger importing them (lending imports ledger, never the
reverse), typically from their AppConfig.ready():

    from xinedai.ledger import checks

    checks.register("lending.principal", principal_matches_subledger)

A check is a function without arguments that yields `Difference`s — nothing when all is well. It
should be set-based (one or a few SQL statements over all loans, e.g. a join with
`ledger.queries.subledger_sql`), since verify runs on the whole book.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    """One disagreement: what was expected and what was found, and where (entry, loan, account)."""

    expected: int | str
    actual: int | str
    check: str = ""  # filled in with the registered name when left empty
    entry_id: int | None = None
    loan_id: int | None = None
    line_id: int | None = None
    account: str = ""
    note: str = ""

    def line(self) -> str:
        where = [f"entry={self.entry_id}" if self.entry_id is not None else ""]
        where += [f"loan={self.loan_id}" if self.loan_id is not None else ""]
        where += [f"line={self.line_id}" if self.line_id is not None else ""]
        where += [f"account={self.account}" if self.account else ""]
        text = " ".join(w for w in where if w)
        note = f"  ({self.note})" if self.note else ""
        return f"{self.check}: {text} expected={self.expected} actual={self.actual}{note}"


Check = Callable[[], Iterable[Difference]]

_REGISTRY: dict[str, Check] = {}


def register(name: str, function: Check) -> Check:
    """Register (or replace) a check under a unique, dotted name ("lending.principal"). Returns it."""
    if not name or not callable(function):
        raise ValueError("a check needs a name and a function")
    _REGISTRY[name] = function
    return function


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def registered() -> list[tuple[str, Check]]:
    """The registered checks, in registration order."""
    return list(_REGISTRY.items())
