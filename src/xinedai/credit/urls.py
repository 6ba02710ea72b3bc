from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="credit-home"),
    path("households/<int:pk>/", views.household_credit, name="credit-household"),
    path("households/<int:pk>/decide/", views.decide, name="credit-decide"),
    path("households/<int:pk>/decisions/<int:decision_id>/grant/", views.grant, name="credit-grant"),
    path("households/<int:pk>/apply/", views.apply, name="credit-apply"),
    path("applications/<int:application_id>/withdraw/", views.withdraw, name="credit-withdraw"),
    path("reviews/", views.reviews, name="credit-reviews"),
    path("reviews/<int:application_id>/approve/", views.approve, name="credit-approve"),
    path("reviews/<int:application_id>/reject/", views.reject, name="credit-reject"),
    path("alerts/", views.alerts, name="credit-alerts"),
    path("renewals/", views.renewals, name="credit-renewals"),
    path("configuration/", views.configuration, name="credit-configuration"),
    path("models/<int:pk>/", views.model_detail, name="credit-model"),
    path("models/<int:pk>/decide/", views.model_decide, name="credit-model-decide"),
    path("strategies/new/", views.strategy_new, name="credit-strategy-new"),
    path("strategies/<int:pk>/", views.strategy_detail, name="credit-strategy"),
    path("strategies/<int:pk>/decide/", views.strategy_decide, name="credit-strategy-decide"),
    path("alerts/<int:alert_id>/review/", views.alert_review, name="credit-alert-review"),
]
