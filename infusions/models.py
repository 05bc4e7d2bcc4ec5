"""Lymphodepletion and the CAR-T infusion.

Two CRFs, one of each per patient: the lymphodepletion course (with one row
per study day and agent) and the CAR-T infusion (the locally manufactured
product lot, and one or more fractions). Computed values (BSA, planned mg,
first-fraction date, total cells, dose per kg) are stored as the service
computed them, so the record shows exactly what the coordinator saw; they
are written only by `infusions.services`.
"""
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from crf.models import CaseReportForm, CrfChildRow
from trial.history import HistoricalRecords
from trial.i18n import lazy_message

from .rules import Agent, CellDoseVerdict, DoseVerdict


class Lymphodepletion(CaseReportForm):
    crf_code = "lymphodepletion"
    crf_label = gettext_noop("Lymphodepletion")  # stored and exported in English; shown translated
    correctable_fields = ("start_date", "weight_kg", "height_cm", "creatinine_clearance_ml_min")
    correction_service = "infusions.services.lymphodepletion_correct"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="lymphodepletions",
                                verbose_name=_("patient"))
    start_date = models.DateField(_("start date"), help_text=_("Date of the first dose (study day −5)."))
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1,
                                    help_text=_("Weight used for the BSA."))
    height_cm = models.DecimalField(_("height (cm)"), max_digits=5, decimal_places=1,
                                    help_text=_("Height used for the BSA."))
    bsa_m2 = models.DecimalField(
        _("body-surface area (m²)"), max_digits=4, decimal_places=2, editable=False,
        help_text=_("Mosteller BSA, rounded to 0.01 m²."),
    )
    creatinine_clearance_ml_min = models.DecimalField(
        _("creatinine clearance (mL/min)"), max_digits=5, decimal_places=1, null=True, blank=True,
        help_text=_("Recorded when fludarabine is reduced for renal function."),
    )

    class Meta:
        verbose_name = _("lymphodepletion")
        verbose_name_plural = _("lymphodepletions")
        constraints = [models.UniqueConstraint(fields=["patient"], name="one_lymphodepletion_per_patient")]

    def __str__(self):
        return f"{self.patient} lymphodepletion from {self.start_date}"

    def get_absolute_url(self):
        return reverse("infusions:lymphodepletion_detail", args=[self.patient.study_id])


class LymphodepletionDose(CrfChildRow):
    """One agent on one study day: the plan (from BSA) and what was given.
    Part of the course's form: signed and verified with it, never deleted (`CrfChildRow`)."""

    planned_date_fields = ("planned_date",)
    removal_service = "infusions.services.lymphodepletion_dose_remove"

    course = models.ForeignKey(Lymphodepletion, on_delete=models.CASCADE, related_name="doses",
                               verbose_name=_("lymphodepletion"))
    study_day = models.SmallIntegerField(_("study day"))
    agent = models.CharField(_("agent"), max_length=20, choices=Agent.choices)
    planned_date = models.DateField(_("planned date"))
    planned_mg = models.DecimalField(_("planned dose (mg)"), max_digits=7, decimal_places=1, editable=False,
                                     help_text=_("The protocol's mg/m² per day times the BSA."))
    administered_mg = models.DecimalField(
        _("administered dose (mg)"), max_digits=7, decimal_places=1, null=True, blank=True,
        help_text=_("Empty or 0 when the dose was missed."),
    )
    administration_date = models.DateField(_("administration date"), null=True, blank=True)
    verdict = models.CharField(_("dose check"), max_length=20, choices=DoseVerdict.choices, editable=False)
    renal_adjustment = models.BooleanField(_("reduced for renal function"), default=False, editable=False)

    history = HistoricalRecords()

    class Meta(CrfChildRow.Meta):
        verbose_name = _("lymphodepletion dose")
        verbose_name_plural = _("lymphodepletion doses")
        ordering = ["course", "study_day", "agent"]
        constraints = [
            models.UniqueConstraint(fields=["course", "study_day", "agent"], name="one_dose_per_day_and_agent"),
        ]

    def __str__(self):
        return f"day {self.study_day} {self.agent}: {self.administered_mg} / {self.planned_mg} mg"

    @property
    def patient(self):
        return self.course.patient


class Infusion(CaseReportForm):
    """The CAR-T product lot and its infusion (one or more fractions)."""

    crf_code = "cart_infusion"
    crf_label = gettext_noop("CAR-T product and infusion")  # stored and exported in English; shown translated
    # infusion_date and cart_cells_infused are those of the single fraction (refused for split dosing).
    correctable_fields = ("product_lot", "manufacture_date", "total_viable_cells", "viability_percent",
                          "car_positive_percent", "weight_kg", "infusion_date", "cart_cells_infused")
    correction_service = "infusions.services.infusion_correct"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="infusions",
                                verbose_name=_("patient"))
    product_lot = models.CharField(_("product lot"), max_length=40)
    manufacture_date = models.DateField(_("manufacture date"))
    total_viable_cells = models.PositiveBigIntegerField(_("viable cells in the lot (×10⁶)"),
                                                       help_text=_("Viable cells in the lot."))
    viability_percent = models.DecimalField(_("viability (%)"), max_digits=5, decimal_places=2)
    # "%%" and lazy_message: xgettext reads "% o" in "(% of" as a format directive.
    car_positive_percent = models.DecimalField(lazy_message(_("CAR⁺ cells (%% of viable)")), max_digits=5,
                                               decimal_places=2, help_text=_("CAR⁺ share of viable cells."))
    weight_kg = models.DecimalField(_("weight at infusion (kg)"), max_digits=5, decimal_places=1,
                                    help_text=_("Weight at infusion."))
    # Day 0 (the first fraction) and the sum over fractions, kept by the service.
    infusion_date = models.DateField(_("infusion date (day 0)"), editable=False)
    cart_cells_infused = models.PositiveBigIntegerField(_("CAR⁺ viable cells infused (×10⁶)"), editable=False,
                                                        help_text=_("CAR⁺ viable cells, all fractions."))
    dose_cells_per_kg = models.DecimalField(_("CAR-T dose (×10⁶ CAR⁺ cells/kg)"), max_digits=16, decimal_places=2,
                                            editable=False)
    dose_verdict = models.CharField(_("dose check"), max_length=14, choices=CellDoseVerdict.choices, editable=False)

    class Meta:
        verbose_name = _("infusion")
        verbose_name_plural = _("infusions")
        constraints = [models.UniqueConstraint(fields=["patient"], name="one_infusion_per_patient")]

    def __str__(self):
        return f"{self.patient} CAR-T lot {self.product_lot} on {self.infusion_date}"

    def get_absolute_url(self):
        return reverse("infusions:cart_infusion_detail", args=[self.patient.study_id])


class InfusionFraction(CrfChildRow):
    """One bag given on one day; a single infusion is one fraction.
    Part of the infusion's form: signed and verified with it, never deleted (`CrfChildRow`)."""

    removal_service = "infusions.services.infusion_fraction_remove"

    infusion = models.ForeignKey(Infusion, on_delete=models.CASCADE, related_name="fractions",
                                 verbose_name=_("infusion"))
    infusion_date = models.DateField(_("fraction date"))
    cart_cells_infused = models.PositiveBigIntegerField(_("CAR⁺ viable cells infused (×10⁶)"))

    history = HistoricalRecords()

    class Meta(CrfChildRow.Meta):
        verbose_name = _("infusion fraction")
        verbose_name_plural = _("infusion fractions")
        ordering = ["infusion", "infusion_date", "pk"]

    def __str__(self):
        return f"{self.infusion_date}: {self.cart_cells_infused} CAR⁺ cells"

    @property
    def patient(self):
        return self.infusion.patient
