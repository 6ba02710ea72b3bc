"""Forms of the collection pages. Amounts are typed in yuan and become fen here, exactly."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from xinedai.core.money import FEN_PER_YUAN

from . import rules
from .choices import FILE_FIELD_LABELS, DocumentKind, Relation, Segment


class FileForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for change"), max_length=300, help_text=_("Why the figures change, e.g. annual re-collection.")
    )

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        for f in rules.MONEY_FIELDS:
            self.fields[f] = forms.DecimalField(
                label=FILE_FIELD_LABELS[f],
                min_value=Decimal(0),
                max_digits=14,
                decimal_places=2,
                required=False,
                widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
            )
        for f in rules.CREDIT_COUNT_FIELDS:
            self.fields[f] = forms.IntegerField(
                label=FILE_FIELD_LABELS[f], min_value=0, max_value=rules.MAX_COUNT, required=False
            )

    @staticmethod
    def initial_from(values: dict[str, int]) -> dict:
        out: dict = {}
        for f in rules.MONEY_FIELDS:
            out[f] = Decimal(values.get(f, 0)) / FEN_PER_YUAN
        for f in rules.CREDIT_COUNT_FIELDS:
            out[f] = values.get(f, 0)
        return out

    def values_fen(self) -> dict[str, int]:
        out = {}
        for f in rules.MONEY_FIELDS:
            v = self.cleaned_data.get(f) or Decimal(0)
            out[f] = int(v * FEN_PER_YUAN)
        for f in rules.CREDIT_COUNT_FIELDS:
            out[f] = int(self.cleaned_data.get(f) or 0)
        return out

    def groups(self) -> list[tuple[str, list]]:
        return [(g, [self[f] for f in fields]) for g, fields in rules.GROUPS.items()]


class HouseholdForm(forms.Form):
    village = forms.ChoiceField(label=_("Village"))
    head_name = forms.CharField(label=_("Head's name"), max_length=50)
    id_number = forms.CharField(label=_("Resident ID number"), max_length=18)
    phone = forms.CharField(label=_("Mobile number"), max_length=14, required=False)
    size = forms.IntegerField(label=_("Family members"), min_value=1, max_value=30, initial=1)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    segments = forms.MultipleChoiceField(
        label=_("Segments"), choices=Segment.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, villages=(), **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["village"]).choices = [("", "—")] + [
            (str(v.pk), f"{v.name} ({v.code})") for v in villages
        ]


class HouseholdEditForm(forms.Form):
    size = forms.IntegerField(label=_("Family members"), min_value=1, max_value=30)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    segments = forms.MultipleChoiceField(
        label=_("Segments"), choices=Segment.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(label=_("Reason for change"), max_length=300)


class MemberForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    relation = forms.ChoiceField(label=_("Relation"), choices=Relation.choices)
    id_number = forms.CharField(label=_("Resident ID number"), max_length=18, required=False)
    phone = forms.CharField(label=_("Mobile number"), max_length=14, required=False)
    reason = forms.CharField(label=_("Reason for change"), max_length=300, required=False)


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document kind"), choices=[("", "—"), *DocumentKind.choices])
    dated_on = forms.DateField(label=_("Document date"), widget=forms.DateInput(attrs={"type": "date"}))
    file = forms.FileField(
        label=_("Photo or PDF"),
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,application/pdf", "capture": "environment"}
        ),
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Roster (.xlsx or .csv)"), widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"})
    )
    dry_run = forms.BooleanField(label=_("Check only (dry run)"), required=False)
