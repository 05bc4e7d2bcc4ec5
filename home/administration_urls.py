from django.urls import path

from . import administration_views as views

app_name = "administration"

urlpatterns = [
    path("", views.index, name="index"),
    path("users/", views.user_list, name="users"),
    path("users/invite/", views.user_invite, name="user_invite"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/details/", views.user_details, name="user_details"),
    path("users/<int:pk>/roles/", views.membership_grant, name="membership_grant"),
    path("users/<int:pk>/language/", views.user_language, name="user_language"),
    path("users/<int:pk>/<slug:action>/", views.user_action, name="user_action"),
    path("roles/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("sites/", views.site_list, name="sites"),
    path("sites/new/", views.site_edit, name="site_new"),
    path("sites/<int:pk>/", views.site_edit, name="site_edit"),
    path("protocols/", views.protocol_list, name="protocols"),
    path("protocols/<int:pk>/", views.protocol_detail, name="protocol_detail"),
    path("protocols/<int:pk>/amend/", views.protocol_amend, name="protocol_amend"),
    path("history/<str:model_label>/<int:pk>/", views.history, name="history"),
]
