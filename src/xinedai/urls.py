"""URL wiring only: each domain owns its own urls and API router."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from .api import urls as api_urls
from .channel.api import urls as channel_urls

admin.site.site_header = admin.site.site_title = _("Xin e-Dai configuration")
admin.site.index_title = _("Organisation, grids, villages and staff")

# The APIs first: Django tries the patterns in order, and the org and households includes at "" hold many
# patterns every API request would otherwise be matched against before its own.
urlpatterns = [
    path("api/v1/channel/", channel_urls()),
    path("api/v1/", api_urls()),
    path("", include("xinedai.org.urls")),
    path("", include("xinedai.households.urls")),
    path("monitoring/", include("xinedai.monitoring.urls")),
    path("campaigns/", include("xinedai.campaigns.urls")),
    path("products/", include("xinedai.products.urls")),
    path("credit/", include("xinedai.credit.urls")),
    path("loans/", include("xinedai.servicing.urls")),
    path("m/", include("xinedai.portal.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
]
