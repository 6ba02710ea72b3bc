"""Credit app: scorecard models, limit strategies, credit decisions and credit lines."""

from django.apps import AppConfig


class CreditConfig(AppConfig):
    name = "xinedai.credit"
    label = "credit"
    verbose_name = "Credit"
