"""Channel app: the API the bank's mobile-banking and WeChat servers call on behalf of customers (issue 4)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelConfig(AppConfig):
    name = "xinedai.channel"
    verbose_name = _("Self-service channels")

    def ready(self) -> None:
        from xinedai.core.reuse import forget_when_changed

        from .models import ChannelClient

        forget_when_changed(ChannelClient)  # a credential is reused for a second (core.reuse)
