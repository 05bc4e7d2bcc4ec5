from django.urls import path

from . import views

app_name = "laboratory"

urlpatterns = [
    path("patients/<str:study_id>/laboratory/new/", views.laboratory_new, name="laboratory_new"),
    path("laboratory/<int:pk>/", views.laboratory_detail, name="laboratory_detail"),
]
