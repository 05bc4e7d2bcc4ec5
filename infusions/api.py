"""`/api/v1/patients/{subject_id}/lymphodepletion/` and `.../infusion/` (docs/api.md).

GET answers the record with its computed values; POST creates it, PUT
corrects it (a submitted form needs `reason`). A failing soft check is a 400
with its message unless `acknowledge_deviation` is true and `reason` is
given; a hard check is always a 400. The services do the work.
"""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.selectors import crf_deviations
from monitoring.serializers import CrfConflictSerializer
from patients.selectors import patient_for_user
from trial.roles import can_enter_data

from . import serializers, services
from .models import Infusion, Lymphodepletion


def _with_deviations(crf):
    crf.deviations = crf_deviations(crf)
    return crf


class _PatientRecordView(APIView):
    model = None
    output = None
    input = None

    def _patient(self, study_id, *, write=False):
        patient = patient_for_user(user=self.request.user, study_id=study_id)
        if write and not can_enter_data(self.request.user, patient.site):
            raise PermissionDenied("Monitors and data managers cannot enter clinical data.")
        return patient

    def _existing(self, patient):
        return self.model.objects.filter(patient=patient).select_related("patient").first()

    def get(self, request, study_id):
        record = self._existing(self._patient(study_id))
        if record is None:
            raise NotFound(f"No {self.model.crf_label.lower()} is recorded for this patient.")
        return Response(self.output(_with_deviations(record)).data)

    def post(self, request, study_id):
        patient = self._patient(study_id, write=True)
        if self._existing(patient) is not None:
            return Response({"non_field_errors": [f"{self.model.crf_label} is already recorded; correct it with PUT."]},
                            status=status.HTTP_400_BAD_REQUEST)
        return self._save(patient, created=True)

    def put(self, request, study_id):
        patient = self._patient(study_id, write=True)
        if self._existing(patient) is None:
            raise NotFound(f"No {self.model.crf_label.lower()} is recorded yet; create it with POST.")
        return self._save(patient, created=False)

    def _save(self, patient, *, created):
        incoming = self.input(data=self.request.data)
        incoming.is_valid(raise_exception=True)
        if not created and incoming.validated_data.get("version") is None:
            return Response({"version": [
                "Send the version of the record you are correcting (the `version` a GET answers), so that "
                "a change saved by someone else since is not overwritten."]}, status=status.HTTP_400_BAD_REQUEST)
        record = self.record(patient, incoming)  # a refusal is answered by config.api_errors
        record.refresh_from_db()
        return Response(self.output(_with_deviations(record)).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@extend_schema(request=serializers.LymphodepletionInput, responses={
    200: serializers.LymphodepletionOutput, 201: serializers.LymphodepletionOutput,
    400: OpenApiResponse(description="Per-field messages; on PUT, a missing `version`."),
    409: OpenApiResponse(CrfConflictSerializer, description="PUT based on a stale `version`: nothing saved."),
})
class LymphodepletionView(_PatientRecordView):
    model = Lymphodepletion
    output = serializers.LymphodepletionOutput
    input = serializers.LymphodepletionInput

    def record(self, patient, incoming):
        data = incoming.validated_data
        return services.lymphodepletion_record(
            patient=patient, by=self.request.user, start_date=data["start_date"], weight_kg=data["weight_kg"],
            height_cm=data["height_cm"], creatinine_clearance_ml_min=data["creatinine_clearance_ml_min"],
            doses=[services.DoseEntry(dose["study_day"], dose["agent"], dose["administered_mg"],
                                      dose["administration_date"]) for dose in data["doses"]],
            acknowledge_deviation=data["acknowledge_deviation"], deviation_reason=data["reason"],
            reason=data["reason"], version=data.get("version", 0),
        )


@extend_schema(request=serializers.InfusionInput, responses={
    200: serializers.InfusionOutput, 201: serializers.InfusionOutput,
    400: OpenApiResponse(description="Per-field messages; on PUT, a missing `version`."),
    409: OpenApiResponse(CrfConflictSerializer, description="PUT based on a stale `version`: nothing saved."),
})
class InfusionView(_PatientRecordView):
    model = Infusion
    output = serializers.InfusionOutput
    input = serializers.InfusionInput

    def record(self, patient, incoming):
        data = incoming.validated_data
        product = data["product"]
        return services.infusion_record(
            patient=patient, by=self.request.user, weight_kg=data["weight_kg"],
            product=services.ProductEntry(
                lot=product["lot"], manufacture_date=product["manufacture_date"],
                total_viable_cells=product["total_viable_cells"], viability_percent=product["viability_percent"],
                car_positive_percent=product["car_positive_percent"]),
            fractions=incoming.fraction_list(), acknowledge_deviation=data["acknowledge_deviation"],
            deviation_reason=data["reason"], reason=data["reason"], version=data.get("version", 0),
        )
