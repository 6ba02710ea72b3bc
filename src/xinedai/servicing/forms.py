"""Forms of the loan pages: a manual classification request, a write-off request, the checker's decision
on either, and a recovery on a written-off loan."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from xinedai.core.forms import YuanField

from .choices import RiskClass


class ClassificationRequestForm(forms.Form):
    """The class asked for and why. The service checks the rest (a pending request, no change)."""

    risk_class = forms.TypedChoiceField(label=_("Requested class"), choices=RiskClass.choices, coerce=int)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the days past due do not show: the borrower's situation and the evidence."),
    )


class ClassificationDecisionForm(forms.Form):
    """Approve or reject; a rejection needs a note (the service says so next to the field)."""

    decision = forms.ChoiceField(choices=(("approve", "approve"), ("reject", "reject")), widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("Note"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when you reject."),
    )


class WriteOffRequestForm(forms.Form):
    """Why the loan should be written off. The service checks the rest (loss class, a pending request)."""

    reason = forms.CharField(
        label=_("Reason and recovery efforts"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The borrower's situation, what was done to recover the debt, and the evidence on file."),
    )


class RecoveryForm(forms.Form):
    """Money recovered on a written-off loan; `token` makes a double submit one recovery."""

    amount = YuanField(label=_("Amount recovered (yuan)"))
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("token", uuid.uuid4().hex)


class ReversalForm(forms.Form):
    """Why a repayment made today is reversed (冲正). The service checks the rest."""

    repayment = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason for the reversal"),
        max_length=200,
        help_text=_("For example: the debit of the customer's account failed, or the wrong loan was paid."),
    )
