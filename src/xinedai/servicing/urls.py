from django.urls import path

from . import views

urlpatterns = [
    path("", views.loan_list, name="loan-list"),
    path("<int:pk>/", views.loan_detail, name="loan-detail"),
    path("<int:pk>/classification/", views.request_classification, name="loan-classification-request"),
    path("classifications/", views.classification_reviews, name="classification-reviews"),
    path("classifications/<int:request_id>/decide/", views.decide_classification, name="classification-decide"),
]
