"""Safety CRFs: adverse events (CTCAE v5), CRS and ICANS assessments (ASTCT 2019),
and the reports that stop a serious adverse event's 24-hour clock.

Grades of CRS and ICANS are stored as computed by `safety.rules` in the services
(never typed); the stored `grading_driver` says which domain set the grade.
"""
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crf.display import EMPTY, DisplayList, decoded_list
from crf.models import CaseReportForm
from trial.history import HistoricalRecords
from trial.rules import Crf

from .rules import (
    CTCAE_TERMS,
    ActionTaken,
    AeOutcome,
    CerebralEdema,
    Consciousness,
    Hypotension,
    Hypoxia,
    Relatedness,
    Seizure,
    SeriousnessCriterion,
)

CTCAE_TERM_CHOICES = [(term, term) for term, _soc in CTCAE_TERMS]


class AdverseEvent(CaseReportForm):
    crf_code = Crf.ADVERSE_EVENTS.value
    crf_label = Crf.ADVERSE_EVENTS.label  # the schedule's name for the form: "Adverse events"
    correctable_fields = (
        "term", "meddra_code", "grade", "onset_date", "resolution_date", "serious", "seriousness_criteria",
        "aware_at", "relatedness_cart", "relatedness_lymphodepletion", "action_taken", "action_taken_other",
        "outcome", "death_date",
    )
    correction_service = "safety.services.adverse_event_correct"
    removal_service = "safety.services.adverse_event_remove"
    structured_fields = {"seriousness_criteria": "safety.forms.seriousness_criteria_correction_field"}

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="adverse_events",
                                verbose_name=_("patient"))
    term = models.CharField(_("CTCAE v5 term"), max_length=80, choices=CTCAE_TERM_CHOICES)
    meddra_code = models.CharField(_("MedDRA code"), max_length=12, blank=True)
    grade = models.PositiveSmallIntegerField(
        _("CTCAE grade"), validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("1 mild, 2 moderate, 3 severe, 4 life-threatening, 5 death related to the event."),
    )
    onset_date = models.DateField(_("onset date"))
    resolution_date = models.DateField(_("resolution date"), null=True, blank=True)
    serious = models.BooleanField(_("serious"), default=False)
    seriousness_criteria = models.JSONField(
        _("seriousness criteria"), default=list, blank=True,
        help_text=_("Codes of SeriousnessCriterion that the event meets."),
    )
    aware_at = models.DateTimeField(
        _("site became aware at"), null=True, blank=True,
        help_text=_("When the site learned of a serious event: the 24-hour reporting clock starts here."),
    )
    relatedness_cart = models.CharField(_("relatedness to CAR-T"), max_length=12, choices=Relatedness.choices)
    relatedness_lymphodepletion = models.CharField(
        _("relatedness to lymphodepletion"), max_length=12, choices=Relatedness.choices
    )
    action_taken = models.CharField(_("action taken"), max_length=16, choices=ActionTaken.choices,
                                    default=ActionTaken.NONE)
    action_taken_other = models.CharField(_("other action (specify)"), max_length=200, blank=True)
    outcome = models.CharField(_("outcome"), max_length=24, choices=AeOutcome.choices)
    death_date = models.DateField(_("death date"), null=True, blank=True, help_text=_("Required for a grade 5 event."))
    # Derived by the service from the term and the protocol version's reference safety information.
    expected = models.BooleanField(_("expected (reference safety information)"), default=False, editable=False)
    susar = models.BooleanField(_("SUSAR (serious, related to CAR-T, unexpected)"), default=False, editable=False)

    class Meta:
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")
        ordering = ["patient", "onset_date", "pk"]
        indexes = [models.Index(fields=["serious", "aware_at"]),
                   # A patient's events in onset order: the safety page, the timeline, the API list.
                   models.Index(fields=["patient", "onset_date"], name="ae_patient_onset_idx")]

    def __str__(self):
        return f"{self.patient} {self.term} grade {self.grade}"

    def get_absolute_url(self):
        return reverse("safety:adverse_events_edit", args=[self.patient.study_id, self.pk])

    @property
    def seriousness_labels(self) -> list[str]:
        return self.get_seriousness_criteria_display().items

    def get_seriousness_criteria_display(self):
        return decoded_list(self.seriousness_criteria, SeriousnessCriterion.choices)


class CrsAssessment(CaseReportForm):
    crf_code = Crf.CRS_ASSESSMENT.value
    crf_label = Crf.CRS_ASSESSMENT.label
    # What the form enters; the grade and its driver are derived from them.
    correctable_fields = (
        "assessment_date", "max_temperature_c", "fever_masked", "hypotension", "hypoxia", "tocilizumab_dose_mg",
        "tocilizumab_given_on", "corticosteroid", "corticosteroid_dose_mg", "corticosteroid_given_on",
    )
    correction_service = "safety.services.crs_assessment_correct"
    removal_service = "safety.services.crs_assessment_remove"

    class Corticosteroid(models.TextChoices):
        DEXAMETHASONE = "dexamethasone", _("Dexamethasone")
        METHYLPREDNISOLONE = "methylprednisolone", _("Methylprednisolone")
        HYDROCORTISONE = "hydrocortisone", _("Hydrocortisone")
        OTHER = "other", _("Other")

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="crs_assessments",
                                verbose_name=_("patient"))
    assessment_date = models.DateField(_("assessment date"))
    max_temperature_c = models.DecimalField(
        _("maximum temperature (°C)"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    fever_masked = models.BooleanField(
        _("antipyretics, tocilizumab or corticosteroids given"), default=False,
        help_text=_("Such treatment was given. Within a CRS episode that began with a fever of 38.0 °C or more, "
                    "fever is then no longer required to grade CRS; it never opens an episode by itself."),
    )
    hypotension = models.CharField(_("hypotension"), max_length=24, choices=Hypotension.choices,
                                   default=Hypotension.NONE)
    hypoxia = models.CharField(_("hypoxia"), max_length=20, choices=Hypoxia.choices, default=Hypoxia.NONE)
    tocilizumab_dose_mg = models.DecimalField(
        _("tocilizumab dose (mg)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    tocilizumab_given_on = models.DateField(_("tocilizumab given on"), null=True, blank=True)
    corticosteroid = models.CharField(_("corticosteroid"), max_length=20, choices=Corticosteroid.choices, blank=True)
    corticosteroid_dose_mg = models.DecimalField(
        _("corticosteroid dose (mg)"), max_digits=7, decimal_places=1, null=True, blank=True
    )
    corticosteroid_given_on = models.DateField(_("corticosteroid given on"), null=True, blank=True)
    # Computed by safety.rules.crs_course over the patient's whole course in the service; never entered.
    grade = models.PositiveSmallIntegerField(_("ASTCT CRS grade"), editable=False, default=0)
    grading_driver = models.CharField(_("grade set by"), max_length=80, editable=False, blank=True)
    grading_rule = models.CharField(_("grading rule applied"), max_length=300, editable=False, blank=True)

    class Meta:
        verbose_name = _("CRS assessment")
        verbose_name_plural = _("CRS assessments")
        ordering = ["patient", "assessment_date", "pk"]
        indexes = [models.Index(fields=["patient", "assessment_date"], name="crs_patient_date_idx")]

    def __str__(self):
        return f"{self.patient} CRS {self.assessment_date} grade {self.grade}"

    def get_absolute_url(self):
        return reverse("safety:crs_assessment_edit", args=[self.patient.study_id, self.pk])


class IcansAssessment(CaseReportForm):
    crf_code = Crf.ICANS_ASSESSMENT.value
    crf_label = Crf.ICANS_ASSESSMENT.label
    # The ICE and CAPD items (the scores follow them), not the scores themselves.
    correctable_fields = (
        "assessment_date", "ice_orientation", "ice_naming", "ice_following_commands", "ice_writing",
        "ice_attention", "capd_items", "unable_to_assess", "consciousness", "seizure", "motor_weakness",
        "cerebral_edema",
    )
    correction_service = "safety.services.icans_assessment_correct"
    removal_service = "safety.services.icans_assessment_remove"
    structured_fields = {"capd_items": "safety.forms.capd_items_correction_field"}

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="icans_assessments",
                                verbose_name=_("patient"))
    assessment_date = models.DateField(_("assessment date"))
    # ICE (patients 12 and over): five items, or unable to assess.
    ice_orientation = models.PositiveSmallIntegerField(
        _("orientation (year, month, city, hospital)"), null=True, blank=True, validators=[MaxValueValidator(4)]
    )
    ice_naming = models.PositiveSmallIntegerField(
        _("naming three objects"), null=True, blank=True, validators=[MaxValueValidator(3)]
    )
    ice_following_commands = models.PositiveSmallIntegerField(
        _("following simple commands"), null=True, blank=True, validators=[MaxValueValidator(1)]
    )
    ice_writing = models.PositiveSmallIntegerField(
        _("writing a standard sentence"), null=True, blank=True, validators=[MaxValueValidator(1)]
    )
    ice_attention = models.PositiveSmallIntegerField(
        _("attention (count back from 100 by 10)"), null=True, blank=True, validators=[MaxValueValidator(1)]
    )
    ice_score = models.PositiveSmallIntegerField(
        _("ICE score"), null=True, blank=True, validators=[MaxValueValidator(10)],
        help_text=_("0–10; empty when ICE was not done. Not for a child under 12 (CAPD)."),
    )
    # CAPD (children under 12 on the assessment date): eight items 0–4, as scored.
    capd_items = models.JSONField(_("CAPD item scores"), null=True, blank=True)
    capd_score = models.PositiveSmallIntegerField(
        _("CAPD score"), null=True, blank=True, validators=[MaxValueValidator(32)]
    )
    unable_to_assess = models.BooleanField(
        _("unable to assess (ICE/CAPD not done)"), default=False,
        help_text=_("ICE or CAPD not done (sedated, intubated, unarousable): the other domains grade; "
                    "grade 4 needs an unarousable patient or another grade-4 domain."),
    )
    consciousness = models.CharField(
        _("level of consciousness"), max_length=12, choices=Consciousness.choices, default=Consciousness.NORMAL
    )
    seizure = models.CharField(_("seizure"), max_length=24, choices=Seizure.choices, default=Seizure.NONE)
    motor_weakness = models.BooleanField(
        _("deep focal motor weakness"), default=False, help_text=_("Hemiparesis or paraparesis.")
    )
    cerebral_edema = models.CharField(
        _("raised ICP / cerebral oedema"), max_length=8, choices=CerebralEdema.choices, default=CerebralEdema.NONE
    )
    # The age that chose ICE or CAPD: on the assessment date (re-derived when the birth date is corrected).
    age_years_at_assessment = models.PositiveSmallIntegerField(
        _("age on the assessment date (years)"), editable=False, null=True)
    grade = models.PositiveSmallIntegerField(_("ASTCT ICANS grade"), editable=False, default=0)
    grading_driver = models.CharField(_("grade set by"), max_length=80, editable=False, blank=True)
    grading_rule = models.CharField(_("grading rule applied"), max_length=300, editable=False, blank=True)

    class Meta:
        verbose_name = _("ICANS assessment")
        verbose_name_plural = _("ICANS assessments")
        ordering = ["patient", "assessment_date", "pk"]
        indexes = [models.Index(fields=["patient", "assessment_date"], name="icans_patient_date_idx")]

    def __str__(self):
        return f"{self.patient} ICANS {self.assessment_date} grade {self.grade}"

    def get_absolute_url(self):
        return reverse("safety:icans_assessment_edit", args=[self.patient.study_id, self.pk])

    def get_capd_items_display(self):
        if not self.capd_items:
            return EMPTY
        return DisplayList([_("Item %(number)s: %(score)s") % {"number": number, "score": score}
                            for number, score in enumerate(self.capd_items, start=1)])

    @property
    def uses_capd(self) -> bool:
        return self.capd_items is not None or self.capd_score is not None


class SaeReport(models.Model):
    """One report of a serious adverse event to the sponsor: the initial
    report stops the 24-hour clock; follow-up reports add what was learned."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("Initial report")
        FOLLOW_UP = "follow_up", _("Follow-up report")
        SUSAR = "susar", _("Expedited SUSAR report")

    adverse_event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="sae_reports",
                                      verbose_name=_("adverse event"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    sent_at = models.DateTimeField(_("sent at"))
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("sent by"))
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("SAE report")
        verbose_name_plural = _("SAE reports")
        ordering = ["adverse_event", "sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["adverse_event"], condition=models.Q(kind="initial"), name="sae_one_initial_report"
            ),
            models.UniqueConstraint(
                fields=["adverse_event"], condition=models.Q(kind="susar"), name="sae_one_susar_report"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.adverse_event} at {self.sent_at:%Y-%m-%d %H:%M}"

    @property
    def patient(self):
        return self.adverse_event.patient


class SaeOverdueNotice(models.Model):
    """That the daily job has e-mailed about an overdue initial report: one row
    per event, so re-running the job never e-mails twice. Not clinical data."""

    adverse_event = models.OneToOneField(AdverseEvent, on_delete=models.CASCADE, related_name="overdue_notice")
    notified_at = models.DateTimeField()
    recipients = models.JSONField(default=list)

    def __str__(self):
        return f"Overdue notice for {self.adverse_event} at {self.notified_at}"
