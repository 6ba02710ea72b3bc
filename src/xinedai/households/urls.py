from django.urls import path

from . import views

urlpatterns = [
    path("households/", views.household_list, name="household-list"),
    path("households/new/", views.household_create, name="household-create"),
    path("households/<int:pk>/", views.household_detail, name="household-detail"),
    path("households/<int:pk>/edit/", views.household_edit, name="household-edit"),
    path("households/<int:pk>/file/", views.file_edit, name="file-edit"),
    path("households/<int:pk>/file/diff/", views.file_diff, name="file-diff"),
    path("households/<int:pk>/members/new/", views.member_edit, name="member-create"),
    path("households/<int:pk>/members/<int:member_id>/", views.member_edit, name="member-edit"),
    path("households/<int:pk>/members/<int:member_id>/reveal/<str:field>/", views.reveal, name="reveal"),
    path("households/<int:pk>/documents/", views.document_upload, name="document-upload"),
    path("documents/<int:doc_id>/", views.document_download, name="document-download"),
    path("imports/", views.import_list, name="import-list"),
    path("imports/template.xlsx", views.import_template, name="import-template"),
    path("imports/<int:job_id>/", views.import_detail, name="import-detail"),
]
