"""Forms of the customer pages: amounts in yuan become integer fen exactly."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from xinedai.core.forms import YuanField
from xinedai.products.choices import RepaymentMethod


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("Mobile number"), max_length=11, widget=forms.TextInput(attrs={"inputmode": "tel"}))


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("One-time code"), max_length=6, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )


class DrawForm(forms.Form):
    """A drawdown: amount, term and method within the product's terms; `token` makes a double submit one loan."""

    amount = YuanField(label=_("Amount to borrow (yuan)"))
    term_months = forms.TypedChoiceField(label=_("Term"), coerce=int)
    method = forms.ChoiceField(label=_("Repayment method"))
    accept = forms.BooleanField(label=_("I have read and accept the loan contract"), required=False)
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, terms: Any, methods: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["term_months"].choices = [  # type: ignore[attr-defined]
            (m, _("%(n)d months") % {"n": m})
            for m in (3, 6, 12, 24, 36)
            if terms.min_term_months <= m <= terms.max_term_months
        ]
        labels = dict(RepaymentMethod.choices)
        self.fields["method"].choices = [(m, labels.get(m, m)) for m in methods]  # type: ignore[attr-defined]
        self.initial.setdefault("token", uuid.uuid4().hex)


class RepayForm(forms.Form):
    amount = YuanField(label=_("Amount to repay (yuan)"), required=False)
    payoff = forms.BooleanField(label=_("Pay off the whole loan"), required=False)
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("token", uuid.uuid4().hex)
