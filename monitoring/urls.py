from django.urls import path

from . import views

app_name = "monitoring"

urlpatterns = [
    path("history/<str:model_label>/<int:pk>/", views.history, name="history"),
]
