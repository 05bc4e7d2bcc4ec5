"""API shapes of the outcomes CRFs (field names are api.md's contract).

Serializers only parse and present; the services derive and check.
"""
from rest_framework import serializers

from monitoring.serializers import CrfIdentityFields
from .models import Cd19Status, FollowUpStatus, GeneticResult, RelapseSite, ResponseAssessment
from .rules import Response


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


class EndpointsQuerySerializer(serializers.Serializer):
    censor_at_hsct = serializers.BooleanField(required=False, default=False)

