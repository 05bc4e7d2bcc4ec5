from rest_framework import viewsets

from .models import Patient
from .selectors import patient_for_user
from .serializers import PatientSerializer


class PatientViewSet(viewsets.ReadOnlyModelViewSet):
    """Patients the user may see, addressed by subject ID."""

    serializer_class = PatientSerializer
    lookup_field = "study_id"
    lookup_value_regex = "[A-Za-z0-9-]+"

    def get_queryset(self):
        patients = Patient.objects.visible_to(self.request.user).select_related("site", "protocol")
        if status := self.request.query_params.get("status"):
            patients = patients.filter(status=status)
        if site := self.request.query_params.get("site"):
            patients = patients.filter(site__code=site)
        return patients

    def get_object(self):
        patient = patient_for_user(user=self.request.user, study_id=self.kwargs["study_id"])
        self.check_object_permissions(self.request, patient)
        return patient
