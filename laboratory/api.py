"""`/api/v1/patients/{subject_id}/labs/` (docs/api.md): GET lists the patient's blood draws with every
result's canonical value, flag and CTCAE grade and the adverse events a grade ≥ 3 result suggests; POST
records one draw. Refusals are answered by config/api_errors.py (a value no blood holds: 400 under the
analyte's code)."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from crf.forms import REASON_MAX_LENGTH
from patients.models import Visit
from patients.selectors import patient_for_user
from trial.roles import can_enter_data

from . import rules
from .models import Laboratory
from .selectors import ae_suggestions
from .services import ResultEntry, laboratory_record


class ResultInput(serializers.Serializer):
    analyte = serializers.ChoiceField(choices=rules.Analyte.choices)
    value = serializers.DecimalField(max_digits=13, decimal_places=3)
    unit = serializers.ChoiceField(choices=rules.UNITS, help_text="One of the analyte's units (docs/laboratory.md).")


class LaboratoryInput(serializers.Serializer):
    collection_date = serializers.DateField()
    results = serializers.ListField(child=ResultInput(), allow_empty=False, max_length=len(rules.ANALYTES))
    visit = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                     help_text="The scheduled visit this draw belongs to (omit: unscheduled).")
    acknowledge_deviation = serializers.BooleanField(default=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=REASON_MAX_LENGTH,
                                   help_text="Why a failed soft check (a date outside the visit window) is accepted.")


class ResultOutput(serializers.Serializer):
    analyte = serializers.CharField()
    value = serializers.DecimalField(max_digits=13, decimal_places=3)
    unit = serializers.CharField()
    canonical_value = serializers.DecimalField(max_digits=13, decimal_places=3)
    canonical_unit = serializers.SerializerMethodField()
    flag = serializers.CharField(help_text='"H", "L" or "" (within the normal range).')
    ctcae_grade = serializers.IntegerField(allow_null=True)

    def get_canonical_unit(self, row) -> str:
        return rules.ANALYTES[row.analyte].canonical_unit


class SuggestionOutput(serializers.Serializer):
    analyte = serializers.CharField(source="result.analyte")
    ctcae_grade = serializers.IntegerField(source="result.ctcae_grade")
    term = serializers.CharField()
    url = serializers.CharField(help_text="The adverse-event form, prefilled; nothing is created until saved there.")


class LaboratoryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    crf_code = serializers.CharField()
    collection_date = serializers.DateField()
    visit = serializers.IntegerField(source="visit_id", allow_null=True)
    status = serializers.CharField()
    version = serializers.IntegerField()
    results = ResultOutput(many=True, source="results.all")
    adverse_event_suggestions = serializers.SerializerMethodField()

    def get_adverse_event_suggestions(self, laboratory) -> list[dict]:
        return SuggestionOutput(ae_suggestions(laboratory), many=True).data


class LaboratoryListCreate(APIView):
    """A patient's laboratory draws (GET) and a new one (POST)."""

    @extend_schema(responses=LaboratoryOutput(many=True))
    def get(self, request, study_id):
        patient = patient_for_user(user=request.user, study_id=study_id)
        draws = (Laboratory.objects.filter(patient=patient, removed=False).select_related("patient")
                 .prefetch_related("results").order_by("collection_date", "pk"))
        return Response(LaboratoryOutput(draws, many=True).data)

    @extend_schema(request=LaboratoryInput, responses={
        201: LaboratoryOutput,
        400: OpenApiResponse(description="Per-field messages: `collection_date`, `results`, or an analyte's code."),
    })
    def post(self, request, study_id):
        patient = patient_for_user(user=request.user, study_id=study_id)
        if not can_enter_data(request.user, patient.site):
            raise PermissionDenied("Monitors and data managers cannot enter clinical data.")
        incoming = LaboratoryInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        visit = None
        if data.get("visit") is not None:
            visit = Visit.objects.filter(pk=data["visit"], patient=patient).first()
            if visit is None:
                return Response({"visit": ["No such visit for this patient."]}, status=status.HTTP_400_BAD_REQUEST)
        laboratory = laboratory_record(
            patient=patient, by=request.user, collection_date=data["collection_date"], visit=visit,
            results=[ResultEntry(result["analyte"], result["value"], result["unit"]) for result in data["results"]],
            acknowledge_deviation=data["acknowledge_deviation"], deviation_reason=data["reason"])
        return Response(LaboratoryOutput(laboratory).data, status=status.HTTP_201_CREATED)
