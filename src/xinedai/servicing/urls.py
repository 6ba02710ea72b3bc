from django.urls import path

from . import views

urlpatterns = [
    path("", views.loan_list, name="loan-list"),
    path("<int:pk>/", views.loan_detail, name="loan-detail"),
    path("<int:pk>/classification/", views.request_classification, name="loan-classification-request"),
    path("<int:pk>/write-off/", views.request_write_off, name="loan-write-off-request"),
    path("<int:pk>/recovery/", views.record_recovery, name="loan-recovery"),
    path("<int:pk>/reversal/", views.reverse_repayment, name="loan-repayment-reverse"),
    path("write-offs/", views.write_offs, name="write-offs"),
    path("write-offs/<int:request_id>/decide/", views.decide_write_off, name="write-off-decide"),
    path("classifications/", views.classification_reviews, name="classification-reviews"),
    path("classifications/<int:request_id>/decide/", views.decide_classification, name="classification-decide"),
]
