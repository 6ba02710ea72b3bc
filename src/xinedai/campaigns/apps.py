"""Campaigns app: whole-village credit campaigns (整村授信)."""

from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "xinedai.campaigns"
    label = "campaigns"
    verbose_name = "Village campaigns"
