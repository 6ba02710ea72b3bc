"""Form fields every domain's pages share: an amount typed in yuan, cleaned to integer fen exactly."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from xinedai.core.money import MoneyParseError, parse_yuan


class YuanField(forms.CharField):
    """An amount in yuan (at most two decimals) cleaned to integer fen."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().clean(value)
        if text in (None, ""):
            return None
        try:
            return parse_yuan(text)
        except MoneyParseError as exc:
            raise forms.ValidationError(_("Enter an amount in yuan, at most two decimals.")) from exc


def add_business_error(form: forms.Form, exc: Any) -> None:
    """Show a service's BusinessError on the form: on the field it names when the form has it, else on
    the form as a whole."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
