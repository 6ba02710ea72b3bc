"""Forms of the organisation pages."""

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _


class HandOverForm(forms.Form):
    to_manager = forms.ChoiceField(label=_("New account manager"))
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args, managers=(), **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["to_manager"]).choices = [("", "—")] + [
            (str(p.user_id), str(p)) for p in managers
        ]
