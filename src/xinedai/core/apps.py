"""Core app: money, business dates, errors, masking, audit and identity numbers; imports no domain."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "xinedai.core"
    label = "core"
    verbose_name = "Core"
