"""Lending tests build on the credit tests' bank: an active model and strategy (tests/credit/conftest.py)."""

from tests.credit.conftest import credit  # noqa: F401  (a fixture, re-exported for these tests)
