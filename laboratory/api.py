"""`/api/v1/patients/{subject_id}/labs/` (docs/api.md): GET lists the patient's blood draws with every
result's canonical value, flag and CTCAE grade and the adverse events a grade ≥ 3 result suggests; POST
records one draw. Refusals are answered by config/api_errors.py (a value no blood holds: 400 under the
analyte's code)."""
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from crf.forms import REASON_MAX_LENGTH
from monitoring.serializers import CrfConflictSerializer
from patients.models import Visit
from patients.selectors import patient_for_user
from trial.roles import can_enter_data

from . import rules
from .models import Laboratory
from .selectors import ae_suggestions, patient_kinetics
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
            raise PermissionDenied(gettext("Monitors and data managers cannot enter clinical data."))
        incoming = LaboratoryInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        visit = None
        if data.get("visit") is not None:
            visit = Visit.objects.filter(pk=data["visit"], patient=patient).first()
            if visit is None:
                return Response({"visit": [gettext("No such visit for this patient.")]},
                                status=status.HTTP_400_BAD_REQUEST)
        laboratory = laboratory_record(
            patient=patient, by=request.user, collection_date=data["collection_date"], visit=visit,
            results=[ResultEntry(result["analyte"], result["value"], result["unit"]) for result in data["results"]],
            acknowledge_deviation=data["acknowledge_deviation"], deviation_reason=data["reason"])
        return Response(LaboratoryOutput(laboratory).data, status=status.HTTP_201_CREATED)


class LaboratoryCorrectionInput(LaboratoryInput):
    version = serializers.IntegerField(
        required=False, min_value=1,
        help_text="The version of the draw you are correcting (as a GET answered it): a later save is not overwritten.")
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=REASON_MAX_LENGTH,
        help_text="Why the draw is corrected (kept on the audit trail; required once submitted), and why a failed "
                  "soft check is accepted.")


class LaboratoryDetail(APIView):
    """One draw (GET) and its correction (PUT): the whole draw again, through the service the page uses."""

    def _draw(self, request, study_id, pk, *, write=False) -> Laboratory:
        patient = patient_for_user(user=request.user, study_id=study_id)
        if write and not can_enter_data(request.user, patient.site):
            raise PermissionDenied("Monitors and data managers cannot enter clinical data.")
        draw = (Laboratory.objects.filter(pk=pk, patient=patient, removed=False).select_related("patient", "visit")
                .prefetch_related("results").first())
        if draw is None:
            raise NotFound("No such laboratory draw for this patient.")
        return draw

    @extend_schema(responses=LaboratoryOutput)
    def get(self, request, study_id, pk):
        return Response(LaboratoryOutput(self._draw(request, study_id, pk)).data)

    @extend_schema(request=LaboratoryCorrectionInput, responses={
        200: LaboratoryOutput,
        400: OpenApiResponse(description="Per-field messages (as POST), a missing `version` or `reason`."),
        409: OpenApiResponse(CrfConflictSerializer, description="Based on a stale `version`: nothing saved."),
    })
    def put(self, request, study_id, pk):
        draw = self._draw(request, study_id, pk, write=True)
        incoming = LaboratoryCorrectionInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        if data.get("version") is None:
            return Response({"version": [
                "Send the version of the draw you are correcting (the `version` a GET answers), so that a change "
                "saved by someone else since is not overwritten."]}, status=status.HTTP_400_BAD_REQUEST)
        visit = draw.visit
        if data.get("visit") is not None:
            visit = Visit.objects.filter(pk=data["visit"], patient=draw.patient).first()
            if visit is None:
                return Response({"visit": ["No such visit for this patient."]}, status=status.HTTP_400_BAD_REQUEST)
        laboratory_record(
            patient=draw.patient, by=request.user, collection_date=data["collection_date"], laboratory=draw,
            visit=visit, reason=data["reason"], version=data["version"],
            results=[ResultEntry(result["analyte"], result["value"], result["unit"]) for result in data["results"]],
            acknowledge_deviation=data["acknowledge_deviation"], deviation_reason=data["reason"])
        return Response(LaboratoryOutput(self._draw(request, study_id, pk)).data)


class SampleOutput(serializers.Serializer):
    day = serializers.IntegerField(help_text="Study day (day 0 = infusion).")
    value = serializers.DecimalField(max_digits=13, decimal_places=3)


class NcaOutput(serializers.Serializer):
    cmax = serializers.DecimalField(max_digits=13, decimal_places=3, allow_null=True)
    tmax_days = serializers.IntegerField(allow_null=True)
    auc_0_28 = serializers.DecimalField(max_digits=16, decimal_places=3, allow_null=True,
                                        help_text="Linear trapezoid, day 0 to the last sample by day 28 (value·days).")
    tlast_days = serializers.IntegerField(allow_null=True)
    persistent = serializers.BooleanField(help_text="The latest sample is at or above the LLOQ.")
    lloq = serializers.DecimalField(max_digits=9, decimal_places=2)
    unit = serializers.CharField()
    samples = SampleOutput(many=True)


class KineticsOutput(serializers.Serializer):
    cmax = serializers.DecimalField(max_digits=13, decimal_places=3, allow_null=True,
                                    help_text="CAR transgene by qPCR (copies/µg genomic DNA), as the fields below.")
    tmax_days = serializers.IntegerField(allow_null=True)
    auc_0_28 = serializers.DecimalField(max_digits=16, decimal_places=3, allow_null=True)
    tlast_days = serializers.IntegerField(allow_null=True)
    persistent = serializers.BooleanField()
    qpcr = NcaOutput()
    flow = NcaOutput()
    sampling_days = serializers.ListField(child=serializers.IntegerField())
    b_cell_aplasia_days = serializers.IntegerField(allow_null=True)
    b_cell_recovered = serializers.BooleanField(allow_null=True, help_text="False: censored at the last count.")
    icaht_early_grade = serializers.IntegerField(allow_null=True)
    icaht_late_grade = serializers.IntegerField(allow_null=True)
    icaht_stop_day = serializers.IntegerField(
        allow_null=True, help_text="The last day (from the infusion) the ICAHT grades read: the first relapse, "
                                   "allogeneic HSCT or death of the course; null when none is recorded.")


def kinetics_answer(patient) -> dict:
    found = patient_kinetics(patient)
    protocol = patient.protocol

    def nca(result: rules.Kinetics, analyte: str, lloq) -> dict:
        return {**vars(result), "lloq": lloq, "unit": rules.ANALYTES[analyte].canonical_unit,
                "samples": [vars(sample) for sample in found.series[analyte]]}

    aplasia = found.b_cell_aplasia
    return {
        **vars(found.qpcr),
        "qpcr": nca(found.qpcr, rules.Analyte.CAR_QPCR, protocol.car_transgene_lloq_copies_per_ug),
        "flow": nca(found.flow, rules.Analyte.CAR_T_FLOW, protocol.car_t_cells_lloq_per_ul),
        "sampling_days": found.sampling_days,
        "b_cell_aplasia_days": aplasia.days if aplasia else None,
        "b_cell_recovered": aplasia.recovered if aplasia else None,
        "icaht_early_grade": found.icaht_early_grade, "icaht_late_grade": found.icaht_late_grade,
        "icaht_stop_day": found.icaht_stop_day,
    }


class KineticsView(APIView):
    """A patient's CAR-T kinetics (non-compartmental, docs/clinical-rules.md), B-cell aplasia and ICAHT grades,
    derived from the laboratory results in force; the top-level NCA fields are the qPCR series'."""

    @extend_schema(responses=KineticsOutput)
    def get(self, request, study_id):
        patient = patient_for_user(user=request.user, study_id=study_id)
        return Response(KineticsOutput(kinetics_answer(patient)).data)
