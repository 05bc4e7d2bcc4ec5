"""API shapes for lymphodepletion and the infusion (field names: docs/api.md)."""
from rest_framework import serializers

from crf.serializers import CrfIdentityFields

from . import rules

#: More cells than any manufactured lot holds; keeps absurd numbers out of the database.
MAX_CELLS = 10**15


class SoftCheckSerializer(serializers.Serializer):
    rule = serializers.CharField()
    field = serializers.CharField()
    message = serializers.CharField()
    value = serializers.CharField()


class DeviationSerializer(serializers.Serializer):
    rule = serializers.CharField()
    field = serializers.CharField()
    message = serializers.CharField()
    value = serializers.CharField()
    severity = serializers.CharField(help_text="`minor` or `major` (e.g. fludarabine given below 30 mL/min).")
    reason = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()


class AcknowledgementInput(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1,
        help_text="Required on PUT: the `version` of the record as you last read it (GET answers it). When "
                  "someone saved the record since, nothing is saved and the answer is 409 with the changes.",
    )
    acknowledge_deviation = serializers.BooleanField(required=False, default=False)
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500,
        help_text="Reason for the protocol deviation and, when correcting a submitted form, for the change.",
    )


# --- lymphodepletion ------------------------------------------------------------------


class DoseInput(serializers.Serializer):
    study_day = serializers.IntegerField(min_value=-30, max_value=0)
    agent = serializers.ChoiceField(choices=rules.Agent.choices)
    administered_mg = serializers.DecimalField(
        max_digits=7, decimal_places=1, min_value=0, allow_null=True, required=False, default=None)
    administration_date = serializers.DateField(required=False, allow_null=True, default=None)


class LymphodepletionInput(AcknowledgementInput):
    start_date = serializers.DateField()
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1)
    height_cm = serializers.DecimalField(max_digits=5, decimal_places=1)
    creatinine_clearance_ml_min = serializers.DecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True, default=None)
    doses = DoseInput(many=True)


class DoseOutput(serializers.Serializer):
    study_day = serializers.IntegerField()
    agent = serializers.CharField()
    planned_date = serializers.DateField()
    planned_mg = serializers.DecimalField(max_digits=7, decimal_places=0)
    administered_mg = serializers.DecimalField(max_digits=7, decimal_places=1, allow_null=True)
    administration_date = serializers.DateField(allow_null=True)
    verdict = serializers.ChoiceField(choices=rules.DoseVerdict.choices)
    renal_adjustment = serializers.BooleanField()


class LymphodepletionOutput(CrfIdentityFields):
    subject_id = serializers.CharField(source="patient.study_id")
    status = serializers.CharField()
    start_date = serializers.DateField()
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1)
    height_cm = serializers.DecimalField(max_digits=5, decimal_places=1)
    bsa_m2 = serializers.DecimalField(max_digits=4, decimal_places=2)
    creatinine_clearance_ml_min = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)
    doses = DoseOutput(many=True, source="doses.all")
    deviations = DeviationSerializer(many=True)


# --- CAR-T infusion ------------------------------------------------------------------------


class ProductSerializer(serializers.Serializer):
    lot = serializers.CharField(max_length=40)
    manufacture_date = serializers.DateField()
    total_viable_cells = serializers.IntegerField(min_value=0, max_value=MAX_CELLS)
    viability_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    car_positive_percent = serializers.DecimalField(max_digits=5, decimal_places=2)


class FractionSerializer(serializers.Serializer):
    infusion_date = serializers.DateField()
    cart_cells_infused = serializers.IntegerField(min_value=0, max_value=MAX_CELLS)


class InfusionInput(AcknowledgementInput):
    infusion_date = serializers.DateField(required=False, help_text="Day 0; or send `fractions` for split dosing.")
    cart_cells_infused = serializers.IntegerField(required=False, min_value=0, max_value=MAX_CELLS)
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1)
    product = ProductSerializer()
    fractions = FractionSerializer(many=True, required=False, max_length=10)

    def validate(self, data):
        split = data.get("fractions")
        single = [name for name in ("infusion_date", "cart_cells_infused") if name in data]
        if split and single:
            raise serializers.ValidationError(
                {"fractions": "Send either `fractions` or `infusion_date` with `cart_cells_infused`, not both."})
        if not split:
            missing = {name: "This field is required (or send `fractions`)."
                       for name in ("infusion_date", "cart_cells_infused") if name not in data}
            if missing:
                raise serializers.ValidationError(missing)
        return data

    def fraction_list(self) -> list[rules.InfusionFraction]:
        data = self.validated_data
        if data.get("fractions"):
            return [rules.InfusionFraction(f["infusion_date"], f["cart_cells_infused"]) for f in data["fractions"]]
        return [rules.InfusionFraction(data["infusion_date"], data["cart_cells_infused"])]


class InfusionOutput(CrfIdentityFields):
    subject_id = serializers.CharField(source="patient.study_id")
    status = serializers.CharField()
    infusion_date = serializers.DateField()
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1)
    product_lot = serializers.CharField()
    product = serializers.SerializerMethodField()
    cart_cells_infused = serializers.IntegerField()
    fractions = FractionSerializer(many=True, source="fractions.all")
    dose_cells_per_kg = serializers.DecimalField(max_digits=16, decimal_places=2)
    dose_million_cells_per_kg = serializers.SerializerMethodField()
    dose_verdict = serializers.ChoiceField(choices=rules.CellDoseVerdict.choices)
    deviations = DeviationSerializer(many=True)

    def get_product(self, infusion) -> ProductSerializer:
        return {
            "lot": infusion.product_lot, "manufacture_date": infusion.manufacture_date.isoformat(),
            "total_viable_cells": infusion.total_viable_cells,
            "viability_percent": str(infusion.viability_percent),
            "car_positive_percent": str(infusion.car_positive_percent),
        }

    def get_dose_million_cells_per_kg(self, infusion) -> str:
        return str(rules.dose_million_cells_per_kg(cells_per_kg=infusion.dose_cells_per_kg))
