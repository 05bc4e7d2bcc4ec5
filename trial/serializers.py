from rest_framework import serializers

from .models import EligibilityCriterion, Protocol, Site, VisitDefinition


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
            "sponsor_site_name", "sponsor_site_location", "eligibility_criteria", "visit_schedule",
        ]


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["code", "name", "location"]
