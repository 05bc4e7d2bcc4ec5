from django.urls import path

from . import views

app_name = "outcomes"

urlpatterns = [
    path("patients/<str:study_id>/response-assessments/new/", views.response_assessment_new,
         name="response_assessment_new"),
    path("response-assessments/<int:pk>/", views.response_assessment_detail, name="response_assessment_detail"),
    path("patients/<str:study_id>/follow-up/new/", views.follow_up_new, name="follow_up_new"),
    path("follow-up/<int:pk>/", views.follow_up_detail, name="follow_up_detail"),
    path("patients/<str:study_id>/end-of-study/new/", views.end_of_study_new, name="end_of_study_new"),
    path("end-of-study/<int:pk>/", views.end_of_study_detail, name="end_of_study_detail"),
    path("endpoints/", views.endpoints_page, name="endpoints"),
    path("endpoints/figures/<str:name>.png", views.endpoint_figure, name="endpoint_figure"),
    path("endpoints/report.pdf", views.endpoints_pdf, name="endpoints_pdf"),
]
