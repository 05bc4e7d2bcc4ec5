from django.urls import path

from . import views

app_name = "submission"

urlpatterns = [
    path("", views.package_index, name="index"),
    path("packages/<int:pk>/", views.package_detail, name="package"),
    path("packages/<int:pk>/download/", views.package_download, name="package_download"),
]
