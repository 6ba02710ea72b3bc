from django.urls import path

from . import views

urlpatterns = [
    path("coverage/", views.coverage, name="coverage"),
    path("portfolio/", views.portfolio, name="portfolio"),
]
