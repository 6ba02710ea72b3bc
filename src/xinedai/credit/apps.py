"""Credit app: scorecard models, limit strategies, credit decisions and credit lines."""

from django.apps import AppConfig


class CreditConfig(AppConfig):
    name = "xinedai.credit"
    label = "credit"
    verbose_name = "Credit"

    def ready(self) -> None:
        from xinedai.core.reuse import forget_when_changed

        from .models import LimitStrategy, ScoreModel

        forget_when_changed(ScoreModel, LimitStrategy)  # the active model and strategy (core.reuse)
