"""API shapes of the outcomes CRFs (field names are api.md's contract).

Serializers only parse and present; the services derive and check.
"""
from django.utils import timezone
from rest_framework import serializers

from crf.serializers import CrfIdentityFields

from .models import Cd19Status, EndOfStudyReason, FollowUpStatus, GeneticResult, RelapseSite, ResponseAssessment
from .rules import Response, data_cutoff_error
from .statistics import LANDMARK_MONTHS, Population, TimeOrigin


class CrfWriteMixin(CrfIdentityFields):
    visit = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, write_only=True,
        help_text="Code of the scheduled visit this form belongs to, such as D28.",
    )
    visit_code = serializers.CharField(source="visit.definition.code", read_only=True, default=None,
                                       allow_null=True)  # null when the form is not linked to a visit
    acknowledge_deviation = serializers.BooleanField(required=False, default=False, write_only=True)
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", write_only=True,
        help_text="Reason for the protocol deviation when a soft check fails.",
    )
    subject_id = serializers.CharField(source="patient.study_id", read_only=True)
    form_status = serializers.CharField(source="status", read_only=True)


class ResponseAssessmentSerializer(CrfWriteMixin):
    assessment_date = serializers.DateField()
    bone_marrow_blasts_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, allow_null=True, required=False, coerce_to_string=False
    )
    circulating_blasts = serializers.BooleanField(allow_null=True, required=False, default=None)
    extramedullary_disease = serializers.BooleanField(allow_null=True, required=False, default=None)
    anc_per_ul = serializers.IntegerField(allow_null=True, required=False)
    platelets_per_ul = serializers.IntegerField(allow_null=True, required=False)
    mrd_flow_percent = serializers.DecimalField(
        max_digits=8, decimal_places=5, allow_null=True, required=False, coerce_to_string=False
    )
    mrd_assay_sensitivity_percent = serializers.DecimalField(
        max_digits=8, decimal_places=5, allow_null=True, required=False, coerce_to_string=False
    )
    genetic_aberration_detected = serializers.BooleanField(
        allow_null=True, required=False, default=None,
        help_text="Karyotype or molecular aberration: true/false, null when not done. "
        "Used when karyotype_result and molecular_result are not sent (it is stored as the karyotype result).",
    )
    karyotype_result = serializers.ChoiceField(choices=GeneticResult.choices, required=False)
    molecular_result = serializers.ChoiceField(choices=GeneticResult.choices, required=False)
    comments = serializers.CharField(required=False, allow_blank=True)
    response = serializers.ChoiceField(choices=Response.choices, read_only=True)
    mrd_negative = serializers.BooleanField(read_only=True, allow_null=True)
    mrd_reason = serializers.CharField(read_only=True, help_text="Why MRD is not evaluable (empty otherwise).")

    def crf_values(self) -> dict:
        data = dict(self.validated_data)
        flag = data.pop("genetic_aberration_detected", None)
        if "karyotype_result" not in data and "molecular_result" not in data:
            data["karyotype_result"] = {
                True: GeneticResult.DETECTED, False: GeneticResult.NOT_DETECTED, None: GeneticResult.NOT_DONE
            }[flag]
            data["molecular_result"] = GeneticResult.NOT_DONE
        for name in ("visit", "acknowledge_deviation", "reason"):
            data.pop(name, None)
        return data

    def to_representation(self, instance: ResponseAssessment):
        data = super().to_representation(instance)
        data["genetic_aberration_detected"] = instance.genetic_aberration_detected
        return data


class FollowUpSerializer(CrfWriteMixin):
    contact_date = serializers.DateField()
    status = serializers.ChoiceField(source="follow_up_status", choices=FollowUpStatus.choices)
    relapse_date = serializers.DateField(allow_null=True, required=False)
    relapse_cd19 = serializers.ChoiceField(choices=Cd19Status.choices, allow_blank=True, required=False)
    relapse_site = serializers.ChoiceField(choices=RelapseSite.choices, allow_blank=True, required=False)
    subsequent_therapy = serializers.CharField(allow_blank=True, required=False)
    hsct_date = serializers.DateField(allow_null=True, required=False)
    death_date = serializers.DateField(allow_null=True, required=False)
    death_cause = serializers.CharField(allow_blank=True, allow_null=True, required=False, max_length=200)
    comments = serializers.CharField(required=False, allow_blank=True)

    def crf_values(self) -> dict:
        data = dict(self.validated_data)
        for name in ("visit", "acknowledge_deviation", "reason"):
            data.pop(name, None)
        return data


class EndOfStudySerializer(CrfWriteMixin):
    end_date = serializers.DateField(help_text="The end-of-study date; for a death, the date of death.")
    end_reason = serializers.ChoiceField(choices=EndOfStudyReason.choices)
    end_reason_other = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=200)
    comments = serializers.CharField(required=False, allow_blank=True)

    def crf_values(self) -> dict:
        data = dict(self.validated_data)
        for name in ("visit", "acknowledge_deviation", "reason"):
            data.pop(name, None)
        return data


class EndpointsQuerySerializer(serializers.Serializer):
    censor_at_hsct = serializers.BooleanField(required=False, default=False)
    cutoff = serializers.DateField(
        required=False, input_formats=["%Y-%m-%d"],
        help_text="Data cut-off, YYYY-MM-DD (default: today); data dated after it are ignored.",
    )

    def validate(self, attrs):
        today = timezone.localdate()
        cutoff = attrs.setdefault("cutoff", today)
        if error := data_cutoff_error(cutoff, today=today):
            raise serializers.ValidationError({"cutoff": [error]})
        return attrs


# The endpoints answer, described for the OpenAPI schema (statistics.endpoints builds it) ------------


class RateSerializer(serializers.Serializer):
    responders = serializers.IntegerField()
    n = serializers.IntegerField(help_text="Patients whose 1-month assessment is due (pending ones left out).")
    estimate = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True, help_text="Exact (Clopper–Pearson) 95 % interval.")
    ci_high = serializers.FloatField(allow_null=True)
    pending = serializers.IntegerField(help_text="Patients whose 1-month window is still open, not yet assessed.")


class LandmarkSerializer(serializers.Serializer):
    estimate = serializers.FloatField(allow_null=True, help_text="Null when not estimable (past the data).")
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    at_risk = serializers.IntegerField()


# Field names "12", "24", "36" are not Python identifiers: the class is built from a dict.
LandmarksSerializer = type("LandmarksSerializer", (serializers.Serializer,), {
    str(month): LandmarkSerializer(help_text=f"At {month} months.") for month in LANDMARK_MONTHS
})


class TimeToEventSerializer(serializers.Serializer):
    population = serializers.ChoiceField(choices=[p.value for p in Population])
    time_origin = serializers.ChoiceField(choices=[o.value for o in TimeOrigin])
    n = serializers.IntegerField()
    events = serializers.IntegerField()
    at_months = LandmarksSerializer()


class SurvivalSerializer(TimeToEventSerializer):
    median_months = serializers.FloatField(allow_null=True)
    median_ci_months = serializers.ListField(child=serializers.FloatField(allow_null=True), min_length=2,
                                             max_length=2)


class CumulativeIncidenceSerializer(TimeToEventSerializer):
    competing_events = serializers.IntegerField(help_text="Deaths in remission.")


class EndpointsSerializer(serializers.Serializer):
    cutoff = serializers.DateField(allow_null=True)
    n_infused = serializers.IntegerField()
    n_responders = serializers.IntegerField()
    censor_at_hsct = serializers.BooleanField()
    cr_rate = RateSerializer()
    cr_rate_evaluable = RateSerializer()
    mrd_negative_cr_rate = RateSerializer()
    mrd_negative_cr_rate_evaluable = RateSerializer()
    overall_survival = SurvivalSerializer()
    event_free_survival = SurvivalSerializer()
    leukemia_free_survival = SurvivalSerializer()
    cumulative_incidence_of_relapse = CumulativeIncidenceSerializer()
    duration_of_remission = SurvivalSerializer()

