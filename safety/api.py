"""`/api/v1/patients/{subject_id}/adverse-events/`: AEs, CRS and ICANS entries of one patient."""
from django.utils.translation import gettext
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.selectors import patient_for_user
from trial.roles import can_enter_data

from . import services
from .serializers import (
    SERIALIZER_BY_KIND,
    AdverseEventSerializer,
    CrsAssessmentSerializer,
    IcansAssessmentSerializer,
)

SAFETY_ENTRY = PolymorphicProxySerializer(
    component_name="SafetyEntry",
    serializers={"ae": AdverseEventSerializer, "crs": CrsAssessmentSerializer, "icans": IcansAssessmentSerializer},
    resource_type_field_name="kind",
)

SAVE_BY_KIND = {
    "ae": lambda instance, **kw: services.adverse_event_save(event=instance, **kw),
    "crs": lambda instance, **kw: services.crs_assessment_save(assessment=instance, **kw),
    "icans": lambda instance, **kw: services.icans_assessment_save(assessment=instance, **kw),
}


class PatientSafetyEntriesView(APIView):
    """A patient's adverse events, CRS and ICANS assessments, each with `kind` and its grade.

    POST one entry with `kind` `ae`, `crs` or `icans`; CRS and ICANS grades are computed
    by the ASTCT 2019 rules (a `grade` in the body is ignored). Bad input is a 400 naming each field.
    """

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=["ae", "crs", "icans"],
                                                 description="Only entries of this kind.")],
                   responses={200: PolymorphicProxySerializer(
        component_name="SafetyEntry", many=True, resource_type_field_name="kind",
        serializers={"ae": AdverseEventSerializer, "crs": CrsAssessmentSerializer, "icans": IcansAssessmentSerializer},
    )})
    def get(self, request, study_id):
        patient = patient_for_user(user=request.user, study_id=study_id)
        entries = []
        wanted = request.query_params.get("kind")
        for serializer_class, queryset, date_field in (
            (AdverseEventSerializer, patient.adverse_events.prefetch_related("sae_reports__sent_by"), "onset_date"),
            (CrsAssessmentSerializer, patient.crs_assessments.all(), "assessment_date"),
            (IcansAssessmentSerializer, patient.icans_assessments.all(), "assessment_date"),
        ):
            if wanted and wanted != serializer_class.KIND:
                continue
            for instance in queryset.filter(removed=False):
                entries.append((getattr(instance, date_field), serializer_class(instance).data))
        entries.sort(key=lambda pair: (pair[0], pair[1]["kind"], pair[1]["id"]))
        return Response([data for _date, data in entries])

    @extend_schema(request=SAFETY_ENTRY, responses={201: SAFETY_ENTRY, 400: OpenApiResponse(
        description="Per-field errors")})
    def post(self, request, study_id):
        patient = patient_for_user(user=request.user, study_id=study_id)
        if not can_enter_data(request.user, patient.site):
            raise PermissionDenied(gettext("Your role does not enter clinical data at this site."))
        kind = request.data.get("kind") if hasattr(request.data, "get") else None
        serializer_class = SERIALIZER_BY_KIND.get(kind) if isinstance(kind, str) else None
        if serializer_class is None:
            return Response({"kind": [gettext("Give `kind`: `ae`, `crs` or `icans`.")]},
                            status=status.HTTP_400_BAD_REQUEST)
        serializer = serializer_class(data=request.data, context={"request": request, "patient": patient})
        if not serializer.is_valid():
            return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
        data = dict(serializer.validated_data)
        acknowledge = data.pop("acknowledge_deviation", False)
        reason = data.pop("reason", "")
        instance = serializer_class.Meta.model(patient=patient, protocol=patient.protocol, **data)
        saved = SAVE_BY_KIND[kind](instance, by=request.user, acknowledge_deviation=acknowledge,
                                   deviation_reason=reason)
        return Response(serializer_class(saved).data, status=status.HTTP_201_CREATED)
