"""Portal app: the customers' own mobile pages (the WeChat entry): sign in with a one-time code, see the
line, draw down with the schedule shown first, repay, see loans (issue 4, scope 2)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "xinedai.portal"
    verbose_name = _("Customer pages")
