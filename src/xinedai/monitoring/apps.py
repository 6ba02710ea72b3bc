"""Monitoring app: the visual monitoring platform's read models and pages."""

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "xinedai.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"
