"""/api/v1/: response assessments and follow-up of a patient, the endpoints and analysis.csv."""

from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from monitoring.csv_safe import csv_dict_text
from patients.models import Patient, Visit
from patients.selectors import patient_for_user
from trial.roles import can_enter_data

from . import reports, statistics
from .models import EndOfStudy, FollowUp, ResponseAssessment
from .roles import can_view_endpoints
from .serializers import (
    EndOfStudySerializer,
    EndpointsQuerySerializer,
    EndpointsSerializer,
    FollowUpSerializer,
    ResponseAssessmentSerializer,
)
from .services import end_of_study_save, follow_up_save, response_assessment_save

# Model field -> API field, where the contract's name differs.
API_FIELD_NAMES = {"follow_up_status": "status", "deviation_reason": "reason"}


class PatientCrfListCreate(GenericAPIView):
    """GET the patient's forms; POST one (the service derives and checks)."""

    model = None
    save_service = None
    api_field_names = API_FIELD_NAMES  # config.api_errors names the fields of a refusal as the API does
    order_by = ()
    pagination_class = None  # the whole list, as GET answers it

    def get_patient(self) -> Patient:
        return patient_for_user(user=self.request.user, study_id=self.kwargs["study_id"])

    def get_queryset(self):
        return (self.model.objects.filter(patient=self.get_patient(), removed=False)
                .select_related("patient", "visit__definition").order_by(*self.order_by))

    def get(self, request, study_id):
        return ApiResponse(self.get_serializer(self.get_queryset(), many=True).data)

    def post(self, request, study_id):
        patient = self.get_patient()
        if not can_enter_data(request.user, patient.site):
            raise PermissionDenied(gettext("Only coordinators and investigators of this site enter data."))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        visit = None
        if code := serializer.validated_data.get("visit"):
            visit = Visit.objects.filter(patient=patient, definition__code=code).first()
            if visit is None:
                raise ValidationError({"visit": [gettext("This patient has no scheduled visit %(code)s.") % {
                    "code": code}]})
        crf = type(self).save_service(
            patient=patient, values=serializer.crf_values(), by=request.user, visit=visit,
            acknowledge_deviation=serializer.validated_data["acknowledge_deviation"],
            deviation_reason=serializer.validated_data["reason"],
        )
        return ApiResponse(self.get_serializer(crf).data, status=status.HTTP_201_CREATED)


# GET answers a list: said so in the schema (a GenericAPIView's GET is otherwise taken for one object).
@extend_schema_view(get=extend_schema(responses=ResponseAssessmentSerializer(many=True)),
                    post=extend_schema(responses={201: ResponseAssessmentSerializer}))
class ResponseAssessmentListCreate(PatientCrfListCreate):
    """A patient's response assessments; the answer carries the derived `response` and `mrd_negative`."""

    serializer_class = ResponseAssessmentSerializer
    model = ResponseAssessment
    save_service = staticmethod(response_assessment_save)
    order_by = ("assessment_date", "pk")


@extend_schema_view(get=extend_schema(responses=FollowUpSerializer(many=True)),
                    post=extend_schema(responses={201: FollowUpSerializer}))
class FollowUpListCreate(PatientCrfListCreate):
    """A patient's follow-up contacts; `status` `dead` takes the patient off study."""

    serializer_class = FollowUpSerializer
    model = FollowUp
    save_service = staticmethod(follow_up_save)
    order_by = ("contact_date", "pk")


@extend_schema_view(get=extend_schema(responses=EndOfStudySerializer(many=True)),
                    post=extend_schema(responses={201: EndOfStudySerializer}))
class EndOfStudyListCreate(PatientCrfListCreate):
    """The patient's end of study (a list of at most one form in force): `end_date` and `end_reason` take the
    patient off study; `death` is the patient's death, reconciled with the follow-up and adverse events."""

    serializer_class = EndOfStudySerializer
    model = EndOfStudy
    save_service = staticmethod(end_of_study_save)
    order_by = ("end_date", "pk")


def _endpoint_query(request) -> dict:
    """``censor_at_hsct`` and ``cutoff`` (default today) of a user who may read the endpoints; 400 if bad."""
    if not can_view_endpoints(request.user):
        raise PermissionDenied(gettext("The endpoints are for investigators, monitors and data managers."))
    query = EndpointsQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return {"censor_at_hsct": query.validated_data["censor_at_hsct"], "cutoff": query.validated_data["cutoff"]}


ENDPOINT_PARAMETERS = [
    OpenApiParameter("censor_at_hsct", OpenApiTypes.BOOL,
                     description="Censor at allogeneic HSCT (sensitivity analysis)."),
    OpenApiParameter("cutoff", OpenApiTypes.DATE,
                     description="Data cut-off, YYYY-MM-DD, not after today (default: today). Data dated after "
                                 "it are ignored and follow-up is censored at it."),
]


class EndpointsView(APIView):
    """The trial's endpoints over the infused patients the user may see (api.md's shape)."""

    @extend_schema(parameters=ENDPOINT_PARAMETERS, responses={200: EndpointsSerializer})
    def get(self, request):
        return ApiResponse(reports.endpoints_for(user=request.user, **_endpoint_query(request)))


class AnalysisCsvView(APIView):
    """One row per infused patient per time-to-event endpoint of whose population the patient is,
    for statistics software (columns: statistics.ANALYSIS_COLUMNS)."""

    @extend_schema(
        parameters=ENDPOINT_PARAMETERS,
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="analysis.csv")},
    )
    def get(self, request):
        query = _endpoint_query(request)
        courses = reports.courses_for(user=request.user, cutoff=query["cutoff"])
        content = csv_dict_text(statistics.ANALYSIS_COLUMNS,
                                statistics.analysis_rows(courses, censor_at_hsct=query["censor_at_hsct"]))
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        suffix = "-censored-at-hsct" if query["censor_at_hsct"] else ""
        response["Content-Disposition"] = f'attachment; filename="analysis-{query["cutoff"].isoformat()}{suffix}.csv"'
        return response
