from django.urls import path

from . import views

app_name = "safety"

urlpatterns = [
    path("", views.safety_summary, name="summary"),
    path("swimmer.png", views.swimmer_plot, name="swimmer_png"),
    path("<str:study_id>/", views.patient_safety, name="patient"),
    path("<str:study_id>/adverse-events/new/", views.adverse_event_entry, name="adverse_events_new"),
    path("<str:study_id>/adverse-events/<int:pk>/", views.adverse_event_entry, name="adverse_events_edit"),
    path("<str:study_id>/adverse-events/<int:pk>/sae-reports/", views.sae_report_new, name="sae_report_new"),
    path("<str:study_id>/crs/new/", views.crs_assessment_entry, name="crs_assessment_new"),
    path("<str:study_id>/crs/<int:pk>/", views.crs_assessment_entry, name="crs_assessment_edit"),
    path("<str:study_id>/icans/new/", views.icans_assessment_entry, name="icans_assessment_new"),
    path("<str:study_id>/icans/<int:pk>/", views.icans_assessment_entry, name="icans_assessment_edit"),
]
