"""Forms of the loan pages: a manual classification request and the checker's decision on it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

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
