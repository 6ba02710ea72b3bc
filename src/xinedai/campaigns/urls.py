"""URLs of the campaign pages (mounted under /campaigns/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.campaign_list, name="campaign-list"),
    path("new/", views.campaign_create, name="campaign-create"),
    path("<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path("<int:pk>/progress/", views.campaign_progress, name="campaign-progress"),
    path("<int:pk>/review/start/", views.start_review, name="campaign-start-review"),
    path("<int:pk>/roster/refresh/", views.refresh_roster, name="campaign-refresh-roster"),
    path("<int:pk>/households/<int:row_id>/review/", views.review, name="campaign-review"),
    path("<int:pk>/posting/start/", views.start_posting, name="campaign-start-posting"),
    path("<int:pk>/objections/", views.objection_create, name="campaign-objection-create"),
    path("<int:pk>/objections/<int:objection_id>/resolve/", views.objection_resolve, name="campaign-objection-resolve"),
    path("<int:pk>/score/", views.score, name="campaign-score"),
    path("<int:pk>/activate/", views.activate, name="campaign-activate"),
    path("<int:pk>/cancel/", views.cancel, name="campaign-cancel"),
    path("<int:pk>/posting.xlsx", views.posting_xlsx, name="campaign-posting-xlsx"),
    path("<int:pk>/posting/print/", views.posting_print, name="campaign-posting-print"),
]
