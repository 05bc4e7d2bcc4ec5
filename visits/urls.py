from django.urls import path

from . import views

app_name = "visits"

urlpatterns = [
    path("visits/", views.dashboard, name="dashboard"),
    path("visits/calendar/", views.calendar, name="calendar"),
    path("visits/<int:pk>/", views.visit_detail, name="detail"),
    path("patients/<str:study_id>/visits/", views.patient_visits, name="patient_visits"),
]
