"""Forms of the campaign pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from xinedai.credit.choices import Channel

from .choices import Resolution, ReviewResult


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Campaign name"), max_length=100)
    village = forms.TypedChoiceField(label=_("Village"), coerce=int)
    channel = forms.ChoiceField(label=_("Channel of the lines"), choices=Channel.choices, initial=Channel.COMBINED)

    def __init__(self, *args, villages, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["village"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (v.pk, f"{v.name} · {v.grid.name}") for v in villages
        ]


class ReviewForm(forms.Form):
    result = forms.ChoiceField(label=_("Committee review"), choices=ReviewResult.choices)
    reason = forms.CharField(label=_("Veto reason"), max_length=300, required=False)


class PostingForm(forms.Form):
    posting_starts_on = forms.DateField(
        label=_("Posting starts"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    posting_ends_on = forms.DateField(
        label=_("Posting ends"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), required=False
    )


class ObjectionForm(forms.Form):
    objector = forms.CharField(label=_("Objector"), max_length=100)
    content = forms.CharField(label=_("Objection"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    raised_on = forms.DateField(label=_("Raised on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(label=_("Resolution"), choices=Resolution.choices)
    note = forms.CharField(label=_("Resolution note"), max_length=300)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=300)
