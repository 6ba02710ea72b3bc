"""Product pages under /products/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.catalogue, name="product-catalogue"),
    path("new/", views.create, name="product-create"),
    path("approvals/", views.approvals, name="product-approvals"),
    path("versions/<int:pk>/approve/", views.approve, name="product-approve"),
    path("versions/<int:pk>/reject/", views.reject, name="product-reject"),
    path("versions/<int:pk>/withdraw/", views.withdraw, name="product-withdraw"),
    path("<slug:code>/", views.detail, name="product-detail"),
    path("<slug:code>/propose/", views.propose, name="product-propose"),
]
