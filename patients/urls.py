from django.urls import path

from . import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("screening/new/", views.screening_new, name="screening_new"),
    path("<str:study_id>/", views.patient_detail, name="detail"),
    path("<str:study_id>/screening/", views.screening_edit, name="screening_edit"),
    path("<str:study_id>/baseline/new/", views.baseline_new, name="baseline_new"),
    path("<str:study_id>/baseline/", views.baseline_edit, name="baseline_edit"),
]
