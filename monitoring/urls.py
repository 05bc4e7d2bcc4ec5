from django.urls import path

from . import exports_views, views

app_name = "monitoring"

urlpatterns = [
    path("history/<str:model_label>/<int:pk>/", views.history, name="history"),
    path("crf/<str:model_label>/<int:pk>/", views.crf_detail, name="crf_detail"),
    path("crf/<str:model_label>/<int:pk>/query/", views.crf_query_raise, name="crf_query_raise"),
    path("crf/<str:model_label>/<int:pk>/verify/", views.crf_verify, name="crf_verify"),
    path("crf/<str:model_label>/<int:pk>/sign/", views.crf_sign, name="crf_sign"),
    path("crf/<str:model_label>/<int:pk>/lock/", views.crf_lock, name="crf_lock"),
    path("crf/<str:model_label>/<int:pk>/remove/", views.crf_remove, name="crf_remove"),
    path("rows/<str:model_label>/<int:pk>/remove/", views.crf_row_remove, name="crf_row_remove"),
    path("queries/", views.query_list, name="query_list"),
    path("queries/<int:pk>/", views.query_detail, name="query_detail"),
    path("visits/<int:pk>/", views.visit_review, name="visit_review"),
    path("visits/<int:pk>/sign/", views.visit_sign, name="visit_sign"),
    path("visits/<int:pk>/lock/", views.visit_lock, name="visit_lock"),
    path("visits/<int:pk>/report.pdf", exports_views.visit_report, name="visit_report"),
    path("patients/<str:study_id>/", views.patient_review, name="patient_review"),
    path("patients/<str:study_id>/casebook.pdf", exports_views.casebook, name="casebook"),
    path("locks/", views.trial_lock, name="locks"),
    path("exports/", exports_views.export_index, name="exports"),
    path("exports/forms/<str:crf_code>.csv", exports_views.form_csv, name="export_form_csv"),
    path("exports/forms/<str:crf_code>/<str:child>.csv", exports_views.child_csv, name="export_child_csv"),
    path("exports/records/<slug:slug>.csv", exports_views.record_csv, name="export_record_csv"),
    path("exports/data-dictionary.csv", exports_views.dictionary_csv, name="export_dictionary"),
    path("exports/odm.xml", exports_views.odm_xml, name="export_odm"),
    path("exports/jobs/<int:pk>/", exports_views.export_job_detail, name="export_job"),
    path("exports/jobs/<int:pk>/download/", exports_views.export_job_download, name="export_job_download"),
]
