from django.urls import path

from . import views

app_name = "infusions"

urlpatterns = [
    path("patients/<str:study_id>/lymphodepletion/", views.lymphodepletion_detail, name="lymphodepletion_detail"),
    path("patients/<str:study_id>/lymphodepletion/new/", views.lymphodepletion_entry, name="lymphodepletion_new"),
    path("patients/<str:study_id>/infusion/", views.infusion_detail, name="cart_infusion_detail"),
    path("patients/<str:study_id>/infusion/new/", views.infusion_entry, name="cart_infusion_new"),
    path("deviations/", views.deviation_list, name="deviations"),
]
