"""API shapes of the safety entries (api.md: `kind` ae / crs / icans). The
grades are read-only: the services compute them, a typed grade is ignored."""
import datetime

from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import serializers

from patients.rules import study_day

from .models import AdverseEvent, CrsAssessment, IcansAssessment, SaeReport
from .rules import CAPD_ITEM_COUNT, CTCAE_SOC_BY_TERM, CTCAE_TERMS, SeriousnessCriterion, susar_report_due


class _EntrySerializer(serializers.ModelSerializer):
    KIND = ""
    DATE_FIELD = ""

    kind = serializers.SerializerMethodField()
    crf_code = serializers.CharField(read_only=True, help_text="The form's code in the query and signature routes.")
    study_day = serializers.SerializerMethodField()
    acknowledge_deviation = serializers.BooleanField(
        write_only=True, required=False, default=False,
        help_text="Save despite a failed soft check (with `reason`); records a protocol deviation.",
    )
    reason = serializers.CharField(write_only=True, required=False, allow_blank=True, default="")

    COMMON = ["id", "crf_code", "version", "kind", "status", "visit", "study_day", "acknowledge_deviation", "reason"]
    READ_ONLY = ["id", "crf_code", "version", "status"]

    def get_kind(self, obj) -> str:
        return self.KIND

    def get_study_day(self, obj) -> int | None:
        on_date = getattr(obj, self.DATE_FIELD)
        if obj.patient.infusion_date is None or on_date is None:
            return None
        return study_day(on_date=on_date, infusion_date=obj.patient.infusion_date)

    def validate_visit(self, visit):
        patient = self.context.get("patient")
        if visit is not None and patient is not None and visit.patient_id != patient.pk:
            raise serializers.ValidationError(gettext("This visit belongs to another patient."))
        return visit


class CrsAssessmentSerializer(_EntrySerializer):
    KIND = "crs"
    DATE_FIELD = "assessment_date"

    max_temperature_c = serializers.DecimalField(max_digits=3, decimal_places=1, allow_null=True, required=False,
                                                 coerce_to_string=False)

    class Meta:
        model = CrsAssessment
        fields = _EntrySerializer.COMMON + [
            "assessment_date", "max_temperature_c", "fever_masked", "hypotension", "hypoxia",
            "tocilizumab_dose_mg", "tocilizumab_given_on", "corticosteroid", "corticosteroid_dose_mg",
            "corticosteroid_given_on", "grade", "grading_driver", "grading_rule",
        ]
        read_only_fields = _EntrySerializer.READ_ONLY + ["grade", "grading_driver", "grading_rule"]


class IcansAssessmentSerializer(_EntrySerializer):
    KIND = "icans"
    DATE_FIELD = "assessment_date"

    ice_score = serializers.IntegerField(
        min_value=0, max_value=10, allow_null=True, required=False,
        help_text="0–10; null when ICE was not done. Computed from the items when they are sent. Refused for a "
                  "child under 12 on the assessment date (CAPD).",
    )
    capd_items = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=4), min_length=CAPD_ITEM_COUNT,
        max_length=CAPD_ITEM_COUNT, allow_null=True, required=False,
        help_text="Children under 12 on the assessment date: the eight CAPD item scores, 0–4 each, as scored.",
    )

    class Meta:
        model = IcansAssessment
        fields = _EntrySerializer.COMMON + [
            "assessment_date", "ice_orientation", "ice_naming", "ice_following_commands", "ice_writing",
            "ice_attention", "ice_score", "capd_items", "capd_score", "unable_to_assess", "consciousness",
            "seizure", "motor_weakness", "cerebral_edema", "age_years_at_assessment", "grade", "grading_driver",
            "grading_rule",
        ]
        read_only_fields = _EntrySerializer.READ_ONLY + ["capd_score", "age_years_at_assessment", "grade",
                                                         "grading_driver", "grading_rule"]

    def validate(self, attrs):
        items = [attrs.get(name) for name in ("ice_orientation", "ice_naming", "ice_following_commands",
                                              "ice_writing", "ice_attention")]
        # api.md: an ICE score of null is a patient who cannot be assessed.
        if attrs.get("ice_score") is None and not attrs.get("capd_items") and all(i is None for i in items):
            attrs["unable_to_assess"] = True
        return attrs


class SaeReportSerializer(serializers.ModelSerializer):
    sent_by = serializers.CharField(source="sent_by.username", read_only=True)

    class Meta:
        model = SaeReport
        fields = ["kind", "sent_at", "sent_by", "notes"]


class AdverseEventSerializer(_EntrySerializer):
    KIND = "ae"
    DATE_FIELD = "onset_date"

    term = serializers.ChoiceField(choices=[term for term, _soc in CTCAE_TERMS])
    system_organ_class = serializers.SerializerMethodField()
    seriousness_criteria = serializers.MultipleChoiceField(choices=SeriousnessCriterion.choices, required=False)
    sae_reports = SaeReportSerializer(many=True, read_only=True)
    susar_report_due = serializers.SerializerMethodField(
        help_text="A SUSAR's expedited-report deadline: 7 days from awareness when fatal or life-threatening, "
                  "else 15 (ICH E2A); null for an event that is not a SUSAR.")

    class Meta:
        model = AdverseEvent
        fields = _EntrySerializer.COMMON + [
            "term", "system_organ_class", "meddra_code", "grade", "onset_date", "resolution_date", "serious",
            "seriousness_criteria", "aware_at", "relatedness_cart", "relatedness_lymphodepletion", "action_taken",
            "action_taken_other", "outcome", "death_date", "expected", "susar", "susar_report_due", "sae_reports",
        ]
        read_only_fields = _EntrySerializer.READ_ONLY + ["expected", "susar"]

    def get_susar_report_due(self, obj) -> datetime.datetime | None:
        if not obj.susar or obj.aware_at is None:
            return None
        return susar_report_due(aware_at=timezone.localtime(obj.aware_at),
                                seriousness_criteria=obj.seriousness_criteria)

    def get_system_organ_class(self, obj) -> str:
        return CTCAE_SOC_BY_TERM.get(obj.term, "")

    def validate_seriousness_criteria(self, value):
        return sorted(value)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["seriousness_criteria"] = sorted(data.get("seriousness_criteria") or [])
        return data


SERIALIZER_BY_KIND = {
    "ae": AdverseEventSerializer,
    "crs": CrsAssessmentSerializer,
    "icans": IcansAssessmentSerializer,
}
