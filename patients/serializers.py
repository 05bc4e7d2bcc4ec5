from django.urls import reverse
from rest_framework import serializers

from crf.serializers import CrfIdentityFields

from .models import BaselineCRF, Patient, PatientStatus, PhStatus, ScreeningCRF, Sex


class ScreeningCrfSerializer(CrfIdentityFields, serializers.ModelSerializer):
    class Meta:
        model = ScreeningCRF
        fields = ["id", "crf_code", "version", "status", "screening_date", "consent_date", "eligibility"]


class BaselineCrfSerializer(CrfIdentityFields, serializers.ModelSerializer):
    bsa_m2 = serializers.DecimalField(max_digits=4, decimal_places=2, read_only=True, allow_null=True)

    class Meta:
        model = BaselineCRF
        fields = ["id", "crf_code", "version", "status", "assessment_date", *BaselineCRF.correctable_fields[1:],
                  "bsa_m2"]


class PatientSerializer(serializers.ModelSerializer):
    subject_id = serializers.CharField(source="study_id", read_only=True)
    site = serializers.CharField(source="site.code", read_only=True)
    protocol_version = serializers.CharField(source="protocol.version", read_only=True)
    day_zero_date = serializers.DateField(source="infusion_date", read_only=True)
    # On the Screening and Baseline CRFs (one place per fact), read through the patient.
    sex = serializers.CharField(read_only=True, allow_null=True)
    birth_date = serializers.DateField(read_only=True, allow_null=True)
    consent_date = serializers.DateField(read_only=True, allow_null=True)
    bsa_m2 = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()
    # The two CRFs themselves, with what names them in the query and signature routes.
    screening = ScreeningCrfSerializer(source="screening_crf", read_only=True, allow_null=True)
    baseline = BaselineCrfSerializer(source="baseline_crf", read_only=True, allow_null=True)

    class Meta:
        model = Patient
        fields = [
            "subject_id", "screening_number", "site", "status", "sex", "birth_date", "consent_date",
            "screening_date", "enrollment_date", "screen_failure_reason", "day_zero_date", "bsa_m2",
            "protocol_version", "links", "screening", "baseline",
        ]

    def get_bsa_m2(self, patient) -> str | None:
        baseline = patient.baseline_crf
        bsa = baseline.bsa_m2 if baseline else None
        return None if bsa is None else str(bsa)

    def get_links(self, patient) -> dict[str, str]:
        request = self.context.get("request")
        base = reverse("api:patient-detail", args=[patient.study_id])
        names = ["lymphodepletion", "infusion", "visits", "adverse-events", "response-assessments", "follow-up"]
        links = {"self": base, **{name: f"{base}{name}/" for name in names}}
        if request is not None:
            links = {key: request.build_absolute_uri(url) for key, url in links.items()}
        return links


class PatientScreenSerializer(serializers.Serializer):
    """POST /api/v1/patients/: screening, enrollment and baseline in one step.
    Only types here; the services make every clinical check."""

    site = serializers.CharField(help_text="Site code, the subject-ID prefix (SZ).")
    sex = serializers.ChoiceField(choices=Sex.choices)
    birth_date = serializers.DateField()
    consent_date = serializers.DateField()
    screening_date = serializers.DateField(required=False, help_text="Default: today.")
    # Precision as on the CRF (0.1 kg, 0.1 cm); the limits are the services' hard checks.
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1)
    height_cm = serializers.DecimalField(max_digits=4, decimal_places=1)
    eligibility = serializers.DictField(
        child=serializers.BooleanField(allow_null=True),
        help_text="Criterion code → true when the inclusion criterion is met or the exclusion criterion is "
                  "present (null: not yet assessed).",
    )
    # Disease status at entry (optional: the Baseline CRF stays a draft without it).
    bone_marrow_blasts_percent = serializers.DecimalField(max_digits=5, decimal_places=2, required=False,
                                                          allow_null=True)
    mrd_percent = serializers.DecimalField(max_digits=7, decimal_places=4, required=False, allow_null=True)
    extramedullary_sites = serializers.CharField(required=False, allow_blank=True, max_length=200)
    ph_status = serializers.ChoiceField(choices=PhStatus.choices, required=False, allow_blank=True)
    prior_lines_of_therapy = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    prior_hsct = serializers.BooleanField(required=False, allow_null=True)
    prior_blinatumomab = serializers.BooleanField(required=False, allow_null=True)
    prior_inotuzumab = serializers.BooleanField(required=False, allow_null=True)


class PatientScreenResultSerializer(PatientSerializer):
    status = serializers.ChoiceField(choices=PatientStatus.choices, read_only=True)
