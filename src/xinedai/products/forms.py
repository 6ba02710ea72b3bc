"""Product forms: amounts typed in yuan (parsed to fen by core.money), rates typed as percent strings."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from xinedai.core.money import MoneyParseError, format_yuan, parse_yuan
from xinedai.credit.choices import Channel, IntakeMode
from xinedai.households.choices import Segment

from . import rules
from .choices import EntryPoint, GuaranteeType, LprTenor, RateKind, RepaymentMethod
from .models import ProductVersion

# rules.Problem.field → the form field that shows it
FIELD_OF = {"min_amount_fen": "min_amount", "max_amount_fen": "max_amount", "annual_rate": "annual_rate_pct"}
HUNDRED = Decimal(100)


def _checkboxes(choices: Any, label: Any, *, required: bool = True) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label, choices=choices, widget=forms.CheckboxSelectMultiple, required=required
    )


class TermsForm(forms.Form):
    guarantee_type = forms.ChoiceField(label=_("Guarantee type"), choices=GuaranteeType.choices)
    intake_modes = _checkboxes(IntakeMode.choices, _("Intake modes"))
    channels = _checkboxes(Channel.choices, _("Channels"), required=True)
    entry_points = _checkboxes(EntryPoint.choices, _("Entry points"), required=False)
    min_amount = forms.CharField(label=_("Minimum amount (yuan)"), max_length=20)
    max_amount = forms.CharField(
        label=_("Maximum amount (yuan)"),
        max_length=20,
        help_text=_("At most 200,000 yuan for a pure-online product, 300,000 yuan otherwise."),
    )
    min_term_months = forms.IntegerField(label=_("Minimum term (months)"), min_value=1, max_value=360)
    max_term_months = forms.IntegerField(label=_("Maximum term (months)"), min_value=1, max_value=360)
    repayment_methods = _checkboxes(RepaymentMethod.choices, _("Repayment methods"))
    rate_kind = forms.ChoiceField(label=_("Rate kind"), choices=RateKind.choices)
    annual_rate_pct = forms.CharField(
        label=_("Annual rate (% per year)"), max_length=12, required=False, help_text=_("For a fixed rate, e.g. 4.35")
    )
    lpr_tenor = forms.ChoiceField(label=_("LPR tenor"), choices=[("", "—"), *LprTenor.choices], required=False)
    spread_bp = forms.IntegerField(
        label=_("Spread over LPR (basis points)"), required=False, help_text=_("For LPR plus spread, e.g. 150")
    )
    segments = _checkboxes(Segment.choices, _("Target segments"), required=False)
    effective_from = forms.DateField(label=_("Effective from"), widget=forms.DateInput(attrs={"type": "date"}))
    effective_to = forms.DateField(
        label=_("Effective to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segments"].help_text = _("None ticked: every segment.")

    def _yuan(self, name: str) -> int:
        try:
            return parse_yuan(self.cleaned_data[name])
        except MoneyParseError as exc:
            raise forms.ValidationError(_("Enter an amount in yuan, at most two decimals.")) from exc

    def clean_min_amount(self) -> int:
        return self._yuan("min_amount")

    def clean_max_amount(self) -> int:
        return self._yuan("max_amount")

    def clean_annual_rate_pct(self) -> Decimal | None:
        raw = (self.cleaned_data.get("annual_rate_pct") or "").strip().rstrip("%").strip()
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation as exc:
            raise forms.ValidationError(_("Enter the rate as a number, e.g. 4.35")) from exc
        if not value.is_finite() or value.as_tuple().exponent < -4:  # type: ignore[operator]
            raise forms.ValidationError(_("Enter the rate as a number with at most four decimals."))
        return value / HUNDRED

    def terms(self) -> rules.ProductTerms:
        d = self.cleaned_data
        fixed = d["rate_kind"] == RateKind.FIXED
        return rules.ProductTerms(
            guarantee_type=d["guarantee_type"],
            intake_modes=tuple(d["intake_modes"]),
            channels=tuple(d["channels"]),
            entry_points=tuple(d["entry_points"]),
            min_amount_fen=d["min_amount"],
            max_amount_fen=d["max_amount"],
            min_term_months=d["min_term_months"],
            max_term_months=d["max_term_months"],
            repayment_methods=tuple(d["repayment_methods"]),
            rate_kind=d["rate_kind"],
            annual_rate=d["annual_rate_pct"] if fixed else None,
            lpr_tenor="" if fixed else d["lpr_tenor"],
            spread_bp=None if fixed else d["spread_bp"],
            segments=tuple(d["segments"]),
            effective_from=d["effective_from"],
            effective_to=d["effective_to"],
        )

    def add_problems(self, problems: list[rules.Problem], message_of: Any) -> None:
        for p in problems:
            name = FIELD_OF.get(p.field, p.field)
            self.add_error(name if name in self.fields else None, message_of(p))

    @staticmethod
    def initial_from(version: ProductVersion | None) -> dict[str, Any]:
        if version is None:
            return {"rate_kind": RateKind.LPR_SPREAD, "lpr_tenor": LprTenor.ONE_YEAR, "min_term_months": 1}
        rate = version.annual_rate
        return {
            "guarantee_type": version.guarantee_type,
            "intake_modes": version.intake_modes,
            "channels": version.channels,
            "entry_points": version.entry_points,
            "min_amount": format_yuan(version.min_amount_fen).replace(",", ""),
            "max_amount": format_yuan(version.max_amount_fen).replace(",", ""),
            "min_term_months": version.min_term_months,
            "max_term_months": version.max_term_months,
            "repayment_methods": version.repayment_methods,
            "rate_kind": version.rate_kind,
            "annual_rate_pct": f"{(Decimal(rate) * HUNDRED).normalize():f}" if rate is not None else "",
            "lpr_tenor": version.lpr_tenor,
            "spread_bp": version.spread_bp,
            "segments": version.segments,
            "effective_to": version.effective_to,
        }


class ChangeForm(TermsForm):
    note = forms.CharField(label=_("Reason for the change"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class NewProductForm(TermsForm):
    code = forms.SlugField(
        label=_("Product code"), max_length=32, help_text=_("Stable code in lower case, e.g. dapeng_dai")
    )
    name = forms.CharField(label=_("Product name"), max_length=60)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    field_order = ["code", "name", "description"]


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason for rejecting"), max_length=300)
