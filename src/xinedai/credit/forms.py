"""Forms of the credit pages. Limits are typed in yuan and become integer fen here, exactly."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from xinedai.core.forms import YuanField

from .choices import Channel


class DecideForm(forms.Form):
    """A model calculation for one catalogue product; the products offered are those the household may use."""

    product = forms.ChoiceField(label=_("Product"), choices=(("xinedai", "信e贷"),), initial="xinedai", required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.COMBINED)

    def __init__(self, *args: Any, products: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if products:
            self.fields["product"].choices = products  # type: ignore[attr-defined]


class ApplicationForm(forms.Form):
    """Rendered beside the decision form on one page: its own id prefix keeps the labels unambiguous."""

    def __init__(self, *args, products: list[tuple[str, str]] | None = None, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("auto_id", "apply_%s")
        super().__init__(*args, **kwargs)
        if products:
            self.fields["product"].choices = products  # type: ignore[attr-defined]

    product = forms.ChoiceField(label=_("Product"), choices=(("xinedai", "信e贷"),), initial="xinedai", required=False)
    requested_limit = YuanField(label=_("Requested limit (yuan)"))
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.COMBINED)
    note = forms.CharField(label=_("Note for the reviewer"), max_length=300, required=False)


class ApproveForm(forms.Form):
    approved_limit = YuanField(label=_("Approved limit (yuan)"))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        required=False,
        help_text=_("Required when the limit differs from the model's suggestion."),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason for rejection"), max_length=500)


class AlertReviewForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("accept", _("Accept: the higher limit may take effect")), ("reject", _("Reject: keep the limit"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Outcome note"), max_length=500)
