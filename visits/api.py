"""`/api/v1/patients/{subject_id}/visits/`: the patient's scheduled visits."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.models import Visit
from patients.selectors import patient_for_user


class VisitSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="definition.code")
    name = serializers.CharField(source="definition.name")
    target_day = serializers.IntegerField(source="definition.target_day")

    class Meta:
        model = Visit
        fields = ["code", "name", "target_day", "target_date", "window_start", "window_end", "status",
                  "status_reason", "done_date"]


@extend_schema(responses=VisitSerializer(many=True))
class PatientVisitsView(APIView):
    def get(self, request, study_id):
        patient = patient_for_user(user=request.user, study_id=study_id)
        visits = Visit.objects.filter(patient=patient).select_related("definition").order_by("target_date")
        return Response(VisitSerializer(visits, many=True).data)
