"""Households app: households, members, versioned financial files, documents, roster import."""

from django.apps import AppConfig


class HouseholdsConfig(AppConfig):
    name = "xinedai.households"
    label = "households"
    verbose_name = "Households"
