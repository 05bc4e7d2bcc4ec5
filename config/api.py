"""The /api/v1/ router: each app contributes its viewsets here."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from infusions.api import InfusionView, LymphodepletionView
from laboratory.api import KineticsView, LaboratoryDetail, LaboratoryListCreate
from monitoring.api import CrfRemoveView, CrfRowRemoveView, CrfSignView, DataQueryViewSet, OdmExportView
from outcomes.api import (
    AnalysisCsvView,
    EndOfStudyListCreate,
    EndpointsView,
    FollowUpListCreate,
    ResponseAssessmentListCreate,
)
from patients.api import PatientViewSet
from safety.api import PatientSafetyEntriesView
from submission.api import AdamPackageView, SdtmPackageView
from trial.api import ProtocolView, SiteViewSet, TokenListView, TokenObtainView, TokenRevokeView
from visits.api import PatientVisitsView

app_name = "api"

router = DefaultRouter()
router.register("sites", SiteViewSet, basename="site")
router.register("patients", PatientViewSet, basename="patient")
router.register("queries", DataQueryViewSet, basename="query")

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token"),
    path("auth/tokens/", TokenListView.as_view(), name="tokens"),
    path("auth/tokens/<int:token_id>/revoke/", TokenRevokeView.as_view(), name="token-revoke"),
    path("protocol/", ProtocolView.as_view(), name="protocol"),
    path("crfs/<str:crf_code>/<int:crf_id>/sign/", CrfSignView.as_view(), name="crf-sign"),
    path("crfs/<str:crf_code>/<int:crf_id>/remove/", CrfRemoveView.as_view(), name="crf-remove"),
    path("crfs/<str:crf_code>/<int:crf_id>/rows/<int:row_id>/remove/", CrfRowRemoveView.as_view(),
         name="crf-row-remove"),
    path("export/odm/", OdmExportView.as_view(), name="export-odm"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("patients/<str:study_id>/lymphodepletion/", LymphodepletionView.as_view(), name="patient-lymphodepletion"),
    path("patients/<str:study_id>/infusion/", InfusionView.as_view(), name="patient-infusion"),
    path("patients/<str:study_id>/labs/", LaboratoryListCreate.as_view(), name="patient-labs"),
    path("patients/<str:study_id>/labs/<int:pk>/", LaboratoryDetail.as_view(), name="patient-lab"),
    path("patients/<str:study_id>/kinetics/", KineticsView.as_view(), name="patient-kinetics"),
    path("patients/<str:study_id>/visits/", PatientVisitsView.as_view(), name="patient-visits"),
    path("patients/<str:study_id>/response-assessments/", ResponseAssessmentListCreate.as_view(),
         name="patient-response-assessments"),
    path("patients/<str:study_id>/follow-up/", FollowUpListCreate.as_view(), name="patient-follow-up"),
    path("patients/<str:study_id>/end-of-study/", EndOfStudyListCreate.as_view(), name="patient-end-of-study"),
    path("endpoints/", EndpointsView.as_view(), name="endpoints"),
    path("export/analysis.csv", AnalysisCsvView.as_view(), name="analysis-csv"),
    path("export/sdtm.zip", SdtmPackageView.as_view(), name="export-sdtm"),
    path("export/adam.zip", AdamPackageView.as_view(), name="export-adam"),
    path("patients/<str:study_id>/adverse-events/", PatientSafetyEntriesView.as_view(),
         name="patient-adverse-events"),
    path("", include(router.urls)),
]
