from rest_framework import serializers

from .models import ApiToken, EligibilityCriterion, Protocol, Site, VisitDefinition


class EligibilityCriterionSerializer(serializers.ModelSerializer):
    class Meta:
        model = EligibilityCriterion
        fields = ["code", "kind", "text"]


class VisitDefinitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = VisitDefinition
        fields = ["code", "name", "target_day", "window_before_days", "window_after_days", "forms",
                  "is_primary_assessment"]


class ProtocolSerializer(serializers.ModelSerializer):
    eligibility_criteria = EligibilityCriterionSerializer(many=True, read_only=True)
    visit_schedule = VisitDefinitionSerializer(source="visit_definitions", many=True, read_only=True)
    lymphodepletion_study_days = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    cart_dose_min_million_per_kg = serializers.DecimalField(max_digits=8, decimal_places=2, read_only=True)
    cart_dose_max_million_per_kg = serializers.DecimalField(max_digits=8, decimal_places=2, read_only=True)

    class Meta:
        model = Protocol
        fields = [
            "code", "version", "effective_date", "title", "planned_enrollment",
            "fludarabine_mg_per_m2", "cyclophosphamide_mg_per_m2", "lymphodepletion_first_day",
            "lymphodepletion_last_day", "lymphodepletion_study_days", "dose_tolerance_percent",
            "min_days_last_lymphodepletion_to_infusion", "cart_dose_min_cells_per_kg",
            "cart_dose_max_cells_per_kg", "cart_dose_min_million_per_kg", "cart_dose_max_million_per_kg",
            "primary_assessment_day", "follow_up_months", "visit_overdue_grace_days",
            "kinetics_sampling_days", "car_transgene_lloq_copies_per_ug", "car_t_cells_lloq_per_ul",
            "b_cell_recovery_per_ul",
            "sponsor_site_name", "sponsor_site_location", "eligibility_criteria", "visit_schedule",
        ]


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["code", "name", "location"]


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                 help_text="What the token is for, such as 'lab system' (optional).")
    otp_token = serializers.CharField(
        max_length=16, required=False, allow_blank=True,
        help_text="The current 6-digit code of the user's authenticator app: required when the user has "
                  "enrolled one (as at the login page), ignored otherwise. Each code works once.")


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as its owner sees it: never the key, which is shown once, at creation."""

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at", "revoked_reason"]
        read_only_fields = fields


class TokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="The key, for `Authorization: Token <key>`; shown only this once.")

    class Meta(ApiTokenSerializer.Meta):
        fields = ["token", *ApiTokenSerializer.Meta.fields]
        read_only_fields = fields
