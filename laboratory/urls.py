from django.urls import path

from . import views

app_name = "laboratory"

urlpatterns = [
    path("patients/<str:study_id>/laboratory/new/", views.laboratory_new, name="laboratory_new"),
    path("laboratory/<int:pk>/", views.laboratory_detail, name="laboratory_detail"),
    path("patients/<str:study_id>/kinetics/", views.patient_kinetics, name="patient_kinetics"),
    path("patients/<str:study_id>/kinetics.png", views.patient_kinetics_png, name="patient_kinetics_png"),
    path("laboratory/kinetics/", views.cohort_kinetics, name="cohort_kinetics"),
    path("laboratory/kinetics.png", views.cohort_kinetics_png, name="cohort_kinetics_png"),
]
