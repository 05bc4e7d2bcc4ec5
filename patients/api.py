from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from trial.roles import can_enter_data, visible_sites

from .models import Patient
from .selectors import patient_for_user
from .serializers import (
    PatientScreenResultSerializer,
    PatientScreenSerializer,
    PatientSerializer,
)
from .services import patient_register


class PatientViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Patients the user may see, addressed by subject ID (screening number
    for those not enrolled). POST screens a patient: enrolled or screen failure."""

    serializer_class = PatientSerializer
    lookup_field = "study_id"
    lookup_value_regex = "[A-Za-z0-9-]+"

    def get_queryset(self):
        patients = Patient.objects.visible_to(self.request.user).select_related(
            "site", "protocol", "screening", "baseline")
        if status_ := self.request.query_params.get("status"):
            patients = patients.filter(status=status_)
        if site := self.request.query_params.get("site"):
            patients = patients.filter(site__code=site)
        return patients.order_by("site__code", "subject_id", "screening_number")

    def get_object(self):
        patient = patient_for_user(user=self.request.user, study_id=self.kwargs["study_id"])
        self.check_object_permissions(self.request, patient)
        return patient

    def get_serializer_class(self):
        return PatientScreenSerializer if self.action == "create" else PatientSerializer

    @extend_schema(request=PatientScreenSerializer, responses={201: PatientScreenResultSerializer})
    def create(self, request, *args, **kwargs):
        if not any(can_enter_data(request.user, site) for site in visible_sites(request.user)):
            # Refused on the role before the body is read: monitors and data managers screen no one.
            raise PermissionDenied("Only coordinators, investigators and administrators screen patients.")
        serializer = PatientScreenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        site = visible_sites(request.user).filter(code=data.pop("site")).first()
        if site is None:
            raise ValidationError({"site": ["No site with this code that you may see."]})
        if not can_enter_data(request.user, site):
            raise PermissionDenied("Only coordinators, investigators and administrators of this site screen patients.")
        patient = patient_register(site=site, by=request.user, **data)
        patient = patient_for_user(user=request.user, study_id=patient.study_id)
        body = PatientScreenResultSerializer(patient, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)
