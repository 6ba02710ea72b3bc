"""URL wiring only: each domain owns its own urls and API router."""

from django.contrib import admin
from django.urls import include, path

from .api import api

urlpatterns = [
    path("", include("xinedai.org.urls")),
    path("", include("xinedai.households.urls")),
    path("monitoring/", include("xinedai.monitoring.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("django-admin/", admin.site.urls),
]
