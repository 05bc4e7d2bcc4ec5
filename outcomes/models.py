"""Response assessments and follow-up contacts: the CRFs the endpoints are computed from.

The response category and MRD negativity are derived by the service from
`outcomes.rules`, never typed: the fields are not editable in forms or the API.
"""
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crf.models import CaseReportForm
from trial.i18n import stored_language

from .rules import Response

PERCENT_VALIDATORS = [MinValueValidator(0), MaxValueValidator(100)]


class GeneticResult(models.TextChoices):
    DETECTED = "detected", _("Aberration detected")
    NOT_DETECTED = "not_detected", _("No aberration detected")
    NOT_DONE = "not_done", _("Not done")


class ResponseAssessment(CaseReportForm):
    """A bone-marrow response assessment: the day-28 primary assessment or any later marrow."""

    crf_code = "response_assessment"
    crf_label = "Response assessment"
    # What the form enters; `response` and `mrd_negative` are derived from them.
    correctable_fields = (
        "assessment_date", "bone_marrow_blasts_percent", "circulating_blasts", "extramedullary_disease",
        "anc_per_ul", "platelets_per_ul", "mrd_flow_percent", "mrd_assay_sensitivity_percent",
        "karyotype_result", "molecular_result", "comments",
    )
    correction_service = "outcomes.services.response_assessment_correct"
    removal_service = "outcomes.services.response_assessment_remove"
    follow_up_date_field = "assessment_date"  # seen at or after the 1-month assessment: in follow-up

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="response_assessments"
    )
    assessment_date = models.DateField(_("assessment date"), help_text=_("Date of the bone-marrow aspirate."))
    bone_marrow_blasts_percent = models.DecimalField(
        _("bone-marrow blasts (%)"), max_digits=5, decimal_places=2, null=True, blank=True,
        validators=PERCENT_VALIDATORS, help_text=_("By morphology; empty when not assessed."),
    )
    circulating_blasts = models.BooleanField(
        _("circulating blasts in peripheral blood"), null=True, blank=True
    )
    extramedullary_disease = models.BooleanField(_("extramedullary disease"), null=True, blank=True)
    anc_per_ul = models.PositiveIntegerField(
        _("absolute neutrophil count (/µL)"), null=True, blank=True
    )
    platelets_per_ul = models.PositiveIntegerField(_("platelets (/µL)"), null=True, blank=True)
    mrd_flow_percent = models.DecimalField(
        # xgettext:no-python-format
        _("MRD by flow cytometry (% of nucleated cells)"), max_digits=8, decimal_places=5,
        null=True, blank=True, validators=PERCENT_VALIDATORS,
        help_text=_("Multiparameter flow cytometry; 0 when no leukemic cells were found; empty when not done."),
    )
    mrd_assay_sensitivity_percent = models.DecimalField(
        _("MRD assay sensitivity (%)"), max_digits=8, decimal_places=5, null=True, blank=True,
        validators=PERCENT_VALIDATORS,
        # xgettext:no-python-format
        help_text=_("Lowest level the assay detects, such as 0.01. Needed for MRD negativity (0.01 % or finer)."),
    )
    karyotype_result = models.CharField(
        _("karyotype result"), max_length=12, choices=GeneticResult.choices, default=GeneticResult.NOT_DONE
    )
    molecular_result = models.CharField(
        _("molecular result (PCR / NGS)"), max_length=12, choices=GeneticResult.choices,
        default=GeneticResult.NOT_DONE,
    )
    # Derived by outcomes.services from outcomes.rules; never typed.
    response = models.CharField(_("response"), max_length=16, choices=Response.choices, editable=False)
    mrd_negative = models.BooleanField(_("MRD-negative"), null=True, editable=False)
    mrd_reason = models.CharField(_("why MRD is not evaluable"), max_length=200, blank=True, editable=False)
    comments = models.TextField(_("comments"), blank=True)

    class Meta:
        verbose_name = _("response assessment")
        verbose_name_plural = _("response assessments")
        ordering = ["patient", "assessment_date", "pk"]
        indexes = [models.Index(fields=["patient", "assessment_date"])]

    def __str__(self):
        return f"{self.patient} response assessment {self.assessment_date}"

    def get_absolute_url(self):
        return reverse("outcomes:response_assessment_detail", args=[self.pk])

    @property
    def genetic_aberration_detected(self) -> bool | None:
        """The API's single flag: True if either test found an aberration, None if neither was done."""
        return genetic_aberration_detected(self.karyotype_result, self.molecular_result)


def genetic_aberration_detected(karyotype_result: str, molecular_result: str) -> bool | None:
    results = {karyotype_result, molecular_result}
    if GeneticResult.DETECTED in results:
        return True
    if GeneticResult.NOT_DETECTED in results:
        return False
    return None


class FollowUpStatus(models.TextChoices):
    ALIVE = "alive", _("Alive, response not yet assessed")
    ALIVE_IN_REMISSION = "alive_in_remission", _("Alive in remission")
    ALIVE_WITH_DISEASE = "alive_with_disease", _("Alive, not in remission")
    RELAPSED = "relapsed", _("Relapsed")
    DEAD = "dead", _("Dead")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Lost to follow-up")


class Cd19Status(models.TextChoices):
    POSITIVE = "positive", _("CD19-positive")
    NEGATIVE = "negative", _("CD19-negative")
    UNKNOWN = "unknown", _("Not known")


class RelapseSite(models.TextChoices):
    BONE_MARROW = "bone_marrow", _("Bone marrow")
    CNS = "cns", _("Central nervous system")
    EXTRAMEDULLARY = "extramedullary", _("Other extramedullary")
    COMBINED = "combined", _("Combined marrow and extramedullary")


class FollowUp(CaseReportForm):
    """One follow-up visit or contact: the patient's status on the contact date."""

    crf_code = "follow_up"
    crf_label = "Follow-up"
    correctable_fields = (
        "contact_date", "follow_up_status", "relapse_date", "relapse_cd19", "relapse_site", "subsequent_therapy",
        "hsct_date", "death_date", "death_cause", "comments",
    )
    correction_service = "outcomes.services.follow_up_correct"
    removal_service = "outcomes.services.follow_up_remove"
    follow_up_date_field = "contact_date"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="follow_ups")
    contact_date = models.DateField(_("contact date"),
                                    help_text=_("Date of the visit or contact (the last contact date)."))
    # Not "status": that is the CRF's place in its life cycle (crf.models).
    follow_up_status = models.CharField(_("status"), max_length=20, choices=FollowUpStatus.choices)
    relapse_date = models.DateField(_("relapse date"), null=True, blank=True)
    relapse_cd19 = models.CharField(
        _("CD19 status of the relapse"), max_length=10, choices=Cd19Status.choices, blank=True
    )
    relapse_site = models.CharField(_("relapse site"), max_length=16, choices=RelapseSite.choices, blank=True)
    subsequent_therapy = models.TextField(
        _("subsequent therapy"), blank=True,
        help_text=_("Treatment given after CAR-T (chemotherapy, a second CAR-T, …)."),
    )
    hsct_date = models.DateField(_("allogeneic HSCT date"), null=True, blank=True)
    death_date = models.DateField(_("death date"), null=True, blank=True)
    death_cause = models.CharField(_("death cause"), max_length=200, blank=True)
    comments = models.TextField(_("comments"), blank=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["patient", "contact_date", "pk"]
        indexes = [models.Index(fields=["patient", "contact_date"])]

    def __str__(self):
        return f"{self.patient} follow-up {self.contact_date}"

    def get_absolute_url(self):
        return reverse("outcomes:follow_up_detail", args=[self.pk])


class EndOfStudyReason(models.TextChoices):
    COMPLETED = "completed", _("Completed the 3-year follow-up")
    DEATH = "death", _("Death")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Lost to follow-up")
    INVESTIGATOR_DECISION = "investigator_decision", _("Investigator decision")
    OTHER = "other", _("Other")


class EndOfStudy(CaseReportForm):
    """The patient's end of study, in one place: its date and reason take the patient off study, and the
    visits after it become "not expected". One per patient (a removed one may be replaced)."""

    crf_code = "end_of_study"
    crf_label = "End of study"
    correctable_fields = ("end_date", "end_reason", "end_reason_other", "comments")
    correction_service = "outcomes.services.end_of_study_correct"
    removal_service = "outcomes.services.end_of_study_remove"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="end_of_study_forms")
    end_date = models.DateField(_("end-of-study date"), help_text=_("For a death, the date of death."))
    end_reason = models.CharField(_("reason"), max_length=24, choices=EndOfStudyReason.choices)
    end_reason_other = models.CharField(_("other reason (specify)"), max_length=200, blank=True)
    comments = models.TextField(_("comments"), blank=True)

    class Meta:
        verbose_name = _("end of study")
        verbose_name_plural = _("end of study forms")
        ordering = ["patient", "end_date", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["patient"], condition=models.Q(removed=False),
                                    name="end_of_study_one_per_patient"),
        ]

    def __str__(self):
        return f"{self.patient} end of study {self.end_date}"

    def get_absolute_url(self):
        return reverse("outcomes:end_of_study_detail", args=[self.pk])

    @property
    def reason_text(self) -> str:
        """The reason as the patient's off-study reason reads it: stored (off study, audit causes, SDTM), so
        in English whatever the language of the request."""
        with stored_language():
            if self.end_reason == EndOfStudyReason.OTHER and self.end_reason_other:
                return f"Other: {self.end_reason_other}"
            return str(self.get_end_reason_display())

    @property
    def reason_display(self) -> str:
        """The reason as a person reads it, in the active language."""
        return end_of_study_reason_display(self.reason_text)


def end_of_study_reason_display(stored: str) -> str:
    """A stored (English) off-study reason — `EndOfStudy.reason_text`, or "Death" — in the active language;
    a reason the application did not write is shown as stored."""
    if stored.startswith("Other: "):
        return gettext("Other: %(reason)s") % {"reason": stored.removeprefix("Other: ")}
    with stored_language():
        by_english = {str(label): value for value, label in EndOfStudyReason.choices}
    value = by_english.get(stored)
    return str(EndOfStudyReason(value).label) if value else stored
