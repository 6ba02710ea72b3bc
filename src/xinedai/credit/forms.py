"""Forms of the credit pages. Limits are typed in yuan and become integer fen here, exactly."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from xinedai.core.forms import YuanField

from . import rules
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


GRADE_ROWS = 6  # grades a strategy may have (blank rows are left out)


def _plain(value: Any) -> Any:
    """50.0 → 50: a whole number shown without its decimals."""
    return value.to_integral_value() if value == value.to_integral_value() else value


class StrategyForm(forms.Form):
    """A new version of the limit strategy, in yuan and plain multiples; cleaned to StrategyParams' dict.
    Pre-filled from the active strategy (initial_from); the rules themselves check what makes sense."""

    net_assets_multiple = forms.DecimalField(
        label=_("Net assets multiple"), min_value=0, max_digits=6, decimal_places=3
    )
    disposable_income_multiple = forms.DecimalField(
        label=_("Disposable income multiple"), min_value=0, max_digits=6, decimal_places=3
    )
    online_cap = YuanField(label=_("Pure online cap (yuan)"), help_text=_("At most 200,000 yuan (regulatory)."))
    combined_cap = YuanField(label=_("Online + offline cap (yuan)"), help_text=_("At most 300,000 yuan (regulatory)."))
    step = YuanField(label=_("Rounding step (yuan)"))
    min_limit = YuanField(label=_("Minimum limit (yuan)"))
    small_cap = YuanField(label=_("Small credit: cap (yuan)"))
    small_income_multiple = forms.DecimalField(
        label=_("Small credit: income multiple"), min_value=0, max_digits=6, decimal_places=3
    )
    small_max_overdue_24m = forms.IntegerField(
        label=_("Small credit: most overdue periods in 24 months"), min_value=0, max_value=24
    )
    guard_pct = forms.DecimalField(
        label=_("Change guard: change of more than (%)"), min_value=0, max_value=1000, max_digits=6, decimal_places=2
    )
    guard_min = YuanField(label=_("Change guard: and more than (yuan)"))
    guard_window_days = forms.IntegerField(label=_("Change guard: within (days)"), min_value=1, max_value=3650)
    note = forms.CharField(label=_("What changes and why"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(GRADE_ROWS):
            self.fields[f"grade_{i}"] = forms.CharField(label=_("Grade"), max_length=8, required=False)
            self.fields[f"grade_{i}_score"] = forms.IntegerField(
                label=_("Minimum score"), required=False, min_value=0, max_value=2000
            )
            self.fields[f"grade_{i}_cap"] = YuanField(label=_("Cap (yuan)"), required=False)

    @classmethod
    def initial_from(cls, params: dict[str, Any]) -> dict[str, Any]:
        from decimal import Decimal

        def yuan(fen: int) -> str:  # typed back as it would be typed: 300000, 12.5 is 12.50
            return str(fen // 100) if fen % 100 == 0 else f"{fen // 100}.{fen % 100:02d}"

        initial: dict[str, Any] = {
            "net_assets_multiple": params["net_assets_multiple"],
            "disposable_income_multiple": params["disposable_income_multiple"],
            "online_cap": yuan(params["channel_caps_fen"]["online"]),
            "combined_cap": yuan(params["channel_caps_fen"]["combined"]),
            "step": yuan(params["step_fen"]),
            "min_limit": yuan(params["min_limit_fen"]),
            "small_cap": yuan(params["small_cap_fen"]),
            "small_income_multiple": params["small_income_multiple"],
            "small_max_overdue_24m": params["small_max_overdue_24m"],
            "guard_pct": _plain(Decimal(params["guard_ratio"]) * 100),
            "guard_min": yuan(params["guard_min_fen"]),
            "guard_window_days": params["guard_window_days"],
        }
        for i, (grade, score) in enumerate(params["grade_cutoffs"][:GRADE_ROWS]):
            initial[f"grade_{i}"] = grade
            initial[f"grade_{i}_score"] = score
            initial[f"grade_{i}_cap"] = yuan(params["grade_caps_fen"][grade])
        return initial

    def grade_rows(self) -> list[tuple[Any, Any, Any]]:
        return [(self[f"grade_{i}"], self[f"grade_{i}_score"], self[f"grade_{i}_cap"]) for i in range(GRADE_ROWS)]

    def other_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if not name.startswith("grade_") and name != "note"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        cutoffs, caps = [], {}
        for i in range(GRADE_ROWS):
            grade = (data.get(f"grade_{i}") or "").strip()
            score, cap = data.get(f"grade_{i}_score"), data.get(f"grade_{i}_cap")
            if not grade and score is None and cap is None:
                continue
            if not grade or score is None or cap is None:
                self.add_error(
                    f"grade_{i}", _("Give the grade's name, minimum score and cap, or leave all three empty.")
                )
                continue
            if grade in caps:
                self.add_error(f"grade_{i}", _("Each grade once."))
                continue
            cutoffs.append([grade, score])
            caps[grade] = cap
        if not cutoffs:
            raise forms.ValidationError(_("A strategy needs at least one grade."))
        scores = [score for _grade, score in cutoffs]
        if scores != sorted(scores, reverse=True):
            self.add_error(None, _("Grades run from the best down: each minimum score below the one before."))
        for name, cap in (("online_cap", rules.PURE_ONLINE_CAP_FEN), ("combined_cap", rules.COMBINED_CAP_FEN)):
            if data.get(name) is not None and data[name] > cap:
                self.add_error(name, _("At most %(cap)s yuan (regulatory).") % {"cap": f"{cap // 100:,}"})
        data["params"] = {
            "grade_cutoffs": cutoffs,
            "grade_caps_fen": caps,
            "net_assets_multiple": str(data.get("net_assets_multiple")),
            "disposable_income_multiple": str(data.get("disposable_income_multiple")),
            "step_fen": data.get("step"),
            "min_limit_fen": data.get("min_limit"),
            "channel_caps_fen": {"online": data.get("online_cap"), "combined": data.get("combined_cap")},
            "small_cap_fen": data.get("small_cap"),
            "small_income_multiple": str(data.get("small_income_multiple")),
            "small_max_overdue_24m": data.get("small_max_overdue_24m"),
            "guard_ratio": str((data.get("guard_pct") or 0) / 100),
            "guard_min_fen": data.get("guard_min"),
            "guard_window_days": data.get("guard_window_days"),
        }
        return data


class ConfigDecisionForm(forms.Form):
    """A second person's approval or rejection of a model or strategy version (a reason to reject)."""

    decision = forms.ChoiceField(choices=(("approve", _("Approve")), ("reject", _("Reject"))), widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
