"""Laboratory results: one form per blood draw (a scheduled visit's or an unscheduled one), with one row per
analyte as the site reported it and what is derived from it (the canonical value, the H/L flag against the
site's normal range, the CTCAE v5.0 grade). The derived values are stored as the service computed them, so
the record shows what the coordinator saw; they are written only by `laboratory.services`.
"""
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crf.models import CaseReportForm, CrfChildRow
from patients.models import Sex
from trial.history import HistoricalRecords

from .rules import UNITS, Analyte, Flag


class Laboratory(CaseReportForm):
    crf_code = "laboratory"
    crf_label = "Laboratory results"  # stored on queries, signatures and deviations: English, as the schedule
    correctable_fields = ("collection_date",)
    correction_service = "laboratory.services.laboratory_correct"
    removal_service = "laboratory.services.laboratory_remove"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="laboratory_results",
                                verbose_name=_("patient"))
    collection_date = models.DateField(_("collection date"), help_text=_("Date the blood was drawn."))

    class Meta:
        verbose_name = _("laboratory results")
        verbose_name_plural = _("laboratory results")
        ordering = ["patient", "collection_date", "pk"]
        indexes = [models.Index(fields=["patient", "collection_date"])]

    def __str__(self):
        return f"{self.patient} laboratory {self.collection_date}"

    def get_absolute_url(self):
        return reverse("laboratory:laboratory_detail", args=[self.pk])


class LabResult(CrfChildRow):
    """One analyte's value in the unit the site reported it, and what the service derived from it.
    Part of the laboratory form: signed and verified with it, never deleted (`CrfChildRow`)."""

    removal_service = "laboratory.services.lab_result_remove"

    laboratory = models.ForeignKey(Laboratory, on_delete=models.CASCADE, related_name="results",
                                   verbose_name=_("laboratory results"))
    analyte = models.CharField(_("analyte"), max_length=12, choices=Analyte.choices)
    value = models.DecimalField(_("value as reported"), max_digits=13, decimal_places=3)
    unit = models.CharField(_("unit as reported"), max_length=10, choices=[(unit, unit) for unit in UNITS])
    canonical_value = models.DecimalField(
        "value in the canonical unit", max_digits=13, decimal_places=3, editable=False,
        help_text=_("Converted to the analyte's one unit (counts /µL, hemoglobin g/dL, creatinine mg/dL, …)."))
    flag = models.CharField(_("flag"), max_length=1, choices=Flag.choices, blank=True, editable=False,
                            help_text=_("H or L against the site's normal range for the patient's sex and age."))
    ctcae_grade = models.PositiveSmallIntegerField(_("CTCAE v5.0 grade"), null=True, blank=True, editable=False)

    history = HistoricalRecords()

    class Meta(CrfChildRow.Meta):
        verbose_name = _("lab result")
        verbose_name_plural = _("lab results")
        ordering = ["laboratory", "pk"]
        constraints = [models.UniqueConstraint(fields=["laboratory", "analyte"], condition=models.Q(removed=False),
                                               name="one_result_per_analyte_and_draw")]

    def __str__(self):
        return f"{self.get_analyte_display()} {self.value} {self.unit}"

    @property
    def patient(self):
        return self.laboratory.patient


class NormalRange(models.Model):
    """A reference interval in the analyte's canonical unit. Without a site it is the default every site
    uses until it records its own; sex blank and no age bounds apply to everyone."""

    site = models.ForeignKey("trial.Site", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="normal_ranges", verbose_name=_("site"))
    analyte = models.CharField(_("analyte"), max_length=12, choices=Analyte.choices)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    age_from_years = models.PositiveSmallIntegerField(_("age from (years)"), default=0)
    age_to_years = models.PositiveSmallIntegerField(_("age to (years)"), null=True, blank=True,
                                                    help_text=_("Exclusive."))
    lower = models.DecimalField(_("lower limit of normal"), max_digits=13, decimal_places=3, null=True, blank=True)
    upper = models.DecimalField(_("upper limit of normal"), max_digits=13, decimal_places=3, null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("normal range")
        verbose_name_plural = _("normal ranges")
        ordering = ["site", "analyte", "sex", "age_from_years"]

    def __str__(self):
        return f"{self.get_analyte_display()} {self.lower}–{self.upper} ({self.site or 'default'})"
