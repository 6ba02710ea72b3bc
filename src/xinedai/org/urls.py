from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("grids/", views.grids, name="grids"),
    path("grids/<int:grid_id>/", views.grid_detail, name="grid-detail"),
    path("audit/", views.audit_log, name="audit-log"),
]
