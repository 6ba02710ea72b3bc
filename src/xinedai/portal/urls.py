from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="portal-home"),
    path("login/", views.login, name="portal-login"),
    path("login/code/", views.code, name="portal-code"),
    path("logout/", views.logout, name="portal-logout"),
    path("lines/<int:line_id>/draw/", views.draw, name="portal-draw"),
    path("lines/<int:line_id>/draw/preview/", views.preview, name="portal-preview"),
    path("loans/<int:loan_id>/", views.loan, name="portal-loan"),
]
