"""The subject and their scheduled visits. Subjects are known by study ID
only: no names are stored."""
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from crf.display import DisplayTable
from crf.models import CaseReportForm
from trial.history import HistoricalRecords
from trial.models import Site
from trial.roles import is_trial_wide
from trial.rules import VisitStatus

from .rules import (
    HEIGHT_CM_LIMITS,
    PERCENT_LIMITS,
    WEIGHT_KG_LIMITS,
    PatientStatus,
    age_years,
    body_surface_area_m2,
    to_decimal,
)


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


class PatientQuerySet(models.QuerySet):
    def visible_to(self, user) -> "PatientQuerySet":
        """The one gate to patient data: every view and API endpoint starts here."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if is_trial_wide(user):
            return self.all()
        # A subquery, not a join: no duplicate rows, so no DISTINCT over wide
        # rows, which keeps counting and sorting 10,000 patients cheap.
        return self.filter(site__in=Site.objects.filter(memberships__user=user).values("pk"))

    def by_study_id(self, study_id: str) -> "PatientQuerySet":
        """Enrolled patients are addressed by subject ID, screen failures by screening number."""
        return self.filter(Q(subject_id=study_id) | Q(screening_number=study_id))


class Patient(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients", verbose_name=_("site"))
    protocol = models.ForeignKey(
        "trial.Protocol", on_delete=models.PROTECT, related_name="patients", verbose_name=_("protocol"),
        help_text=_("The protocol version the patient was screened under."),
    )
    screening_number = models.CharField(_("screening number"), max_length=20, unique=True)
    subject_id = models.CharField(_("subject ID"), max_length=20, unique=True, null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=PatientStatus.choices,
                              default=PatientStatus.SCREENING)

    # Demographics and consent are CRF data (one place per fact): the consent
    # date is on the Screening CRF, sex and birth date on the Baseline CRF;
    # the read-only properties below reach them.
    screening_date = models.DateField(_("screening date"))
    enrollment_date = models.DateField(_("enrollment date"), null=True, blank=True)
    screen_failure_reason = models.TextField(_("screen failure reason"), blank=True)
    # Day 0 of the study-day axis: the first CAR-T fraction. Written only by
    # the infusion service, from the infusion CRF.
    infusion_date = models.DateField(_("infusion date"), null=True, blank=True, editable=False)
    off_study_date = models.DateField(_("off-study date"), null=True, blank=True)
    off_study_reason = models.CharField(_("off-study reason"), max_length=200, blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = PatientQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["site__code", "subject_id", "screening_number"]
        indexes = [
            models.Index(fields=["status"]), models.Index(fields=["site", "status"]),
            # The patient list sorted by day 0. (The default order, site code then subject, joins the
            # site table; PostgreSQL reads the visible patients through the site index and sorts them,
            # which no index on patients_patient alone can spare it.)
            models.Index(fields=["infusion_date", "id"], name="patient_day0_idx"),
            # Newest day 0 first with blanks last needs its own index (a B-tree read backwards puts NULLs
            # first): patient_day0_desc_idx, made on PostgreSQL only by migration 0004 (SQLite cannot
            # index NULLS LAST).
        ]

    def __str__(self):
        return self.study_id

    @property
    def study_id(self) -> str:
        return self.subject_id or self.screening_number

    def _crf(self, name):
        try:
            return getattr(self, name)
        except models.ObjectDoesNotExist:
            return None

    @property
    def screening_crf(self):
        """The Screening CRF, or None (select_related("screening") avoids a query)."""
        return self._crf("screening")

    @property
    def baseline_crf(self):
        return self._crf("baseline")

    @property
    def consent_date(self):
        screening = self.screening_crf
        return screening.consent_date if screening else None

    @property
    def sex(self):
        baseline = self.baseline_crf
        return baseline.sex if baseline else None

    @property
    def birth_date(self):
        baseline = self.baseline_crf
        return baseline.birth_date if baseline else None

    @property
    def is_enrolled(self) -> bool:
        return self.subject_id is not None

    @property
    def patient(self):
        # Lets generic CRF code treat the patient record like any other form.
        return self

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("patients:detail", args=[self.study_id])


class Visit(models.Model):
    """A scheduled visit of one patient, placed on the calendar from the
    infusion date and the protocol's visit definition."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="visits", verbose_name=_("patient"))
    definition = models.ForeignKey("trial.VisitDefinition", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("visit definition"))
    target_date = models.DateField(_("target date"))
    window_start = models.DateField(_("window start"))
    window_end = models.DateField(_("window end"))
    status = models.CharField(_("status"), max_length=14, choices=VisitStatus.choices,
                              default=VisitStatus.SCHEDULED)
    status_reason = models.CharField(_("status reason"), max_length=200, blank=True)
    done_date = models.DateField(_("done date"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["patient", "target_date"]
        constraints = [
            # Scheduling is retried by Celery: the database, not Python,
            # guarantees each visit exists once.
            models.UniqueConstraint(fields=["patient", "definition"], name="visit_once_per_patient"),
            models.CheckConstraint(
                condition=Q(window_start__lte=models.F("target_date")) & Q(target_date__lte=models.F("window_end")),
                name="visit_target_inside_window",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "window_end"]),
            # The dashboard and reminders: scheduled visits opening within the horizon.
            models.Index(fields=["status", "window_start"], name="visit_status_window_start_idx"),
            # No partial indexes on the open visits' windows for the daily status job: measured, they
            # tripled its first pass over 170,000 visits (4.7 s → 11–13 s, every status change rewrites
            # them) for no gain on the daily pass (~0.5 s either way). docs/performance.md.
        ]

    def __str__(self):
        return f"{self.patient} {self.definition.code}"

    @property
    def code(self) -> str:
        return self.definition.code


# --- The two CRFs of screening and baseline -------------------------------------

# What a LimitValidator names (its `what`, kept in English in the migrations), translated when shown.
LIMIT_SUBJECTS = (gettext_noop("A weight"), gettext_noop("A height"), gettext_noop("A blast percentage"),
                  gettext_noop("An MRD level"))


@deconstructible
class LimitValidator:
    """Hard check: a value outside the inclusive limits of patients/rules.py
    is impossible data, refused with a message on the field."""

    def __init__(self, limits, unit: str, what: str):
        self.limits, self.unit, self.what = tuple(limits), unit, what

    def __call__(self, value):
        from django.core.exceptions import ValidationError

        from .rules import within_limits

        if value is not None and not within_limits(value=value, limits=self.limits):
            low, high = self.limits
            shown = format(to_decimal(value).normalize(), "f")  # 400.0 → 400
            raise ValidationError(
                _("%(what)s of %(value)s %(unit)s is impossible: it must be between %(low)s and %(high)s %(unit)s."),
                code="hard_check",
                params={"what": gettext(self.what), "value": shown, "unit": self.unit, "low": low, "high": high},
            )

    def __eq__(self, other):
        return isinstance(other, LimitValidator) and (self.limits, self.unit, self.what) == (
            other.limits, other.unit, other.what)


class ScreeningCRF(CaseReportForm):
    """Consent and the eligibility answers, against the criteria of the
    patient's protocol version (trial.EligibilityCriterion)."""

    crf_code = "screening"
    crf_label = gettext_noop("Screening and eligibility")  # stored and exported in English; shown translated
    correctable_fields = ("screening_date", "consent_date", "eligibility")
    correction_service = "patients.services.screening_correct"
    structured_fields = {"eligibility": "patients.forms.eligibility_correction_field"}

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="screening")
    screening_date = models.DateField(_("screening date"))
    consent_date = models.DateField(_("consent date"), help_text=_("Date written informed consent was signed."))
    # criterion code → True (inclusion met / exclusion present), False, or
    # null (not yet assessed). Codes are the protocol version's criteria.
    eligibility = models.JSONField(_("eligibility criteria"), default=dict, blank=True)

    class Meta:
        verbose_name = _("screening CRF")
        verbose_name_plural = _("screening CRFs")

    def get_eligibility_display(self):
        """The answers criterion by criterion, in the protocol's order (a criterion the protocol does not
        name, from an older version, last)."""
        answers = dict(self.eligibility or {})
        table = DisplayTable([gettext("Criterion"), "", gettext("Answer")])
        for criterion in self.protocol.eligibility_criteria.order_by("order", "code"):
            answer = answers.pop(criterion.code, None)
            if criterion.kind == "inclusion":
                shown = {True: gettext("Met"), False: gettext("Not met")}.get(answer, gettext("Not assessed"))
            else:
                shown = {True: gettext("Present"), False: gettext("Absent")}.get(answer, gettext("Not assessed"))
            table.rows.append([f"{criterion.get_kind_display()} {criterion.code}", criterion.text, shown])
        for code, answer in answers.items():
            shown = {True: gettext("Yes"), False: gettext("No")}.get(answer, gettext("Not assessed"))
            table.rows.append([code, "", shown])
        return table

    def __str__(self):
        return f"{self.patient} screening"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("patients:screening_edit", args=[self.patient.study_id])

    def clean(self):
        import datetime

        from django.core.exceptions import ValidationError
        from django.utils import timezone

        errors = {}
        today = timezone.localdate()
        if self.consent_date and self.consent_date > today:
            errors["consent_date"] = _("The consent date is in the future.")
        if self.screening_date and self.screening_date > today:
            errors["screening_date"] = _("The screening date is in the future.")
        if self.consent_date and self.screening_date and self.consent_date > self.screening_date:
            errors["consent_date"] = _("Consent must be signed on or before the screening date.")
        if self.consent_date and self.consent_date < datetime.date(2000, 1, 1):
            errors["consent_date"] = _("The consent date is before the trial.")
        if errors:
            raise ValidationError(errors)


class PhStatus(models.TextChoices):
    POSITIVE = "positive", _("Ph+ / BCR-ABL1 positive")
    NEGATIVE = "negative", _("Ph− / BCR-ABL1 negative")
    NOT_TESTED = "not_tested", _("Not tested")


class BaselineCRF(CaseReportForm):
    """Demographics, weight and height (body-surface area by Mosteller) and the
    disease status at study entry."""

    crf_code = "baseline"
    crf_label = gettext_noop("Baseline")  # stored and exported in English; shown translated
    correctable_fields = (
        "assessment_date", "sex", "birth_date", "weight_kg", "height_cm", "bone_marrow_blasts_percent",
        "mrd_percent", "extramedullary_sites", "ph_status", "prior_lines_of_therapy", "prior_hsct",
        "prior_blinatumomab", "prior_inotuzumab",
    )
    correction_service = "patients.services.baseline_correct"

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="baseline")
    assessment_date = models.DateField(_("assessment date"),
                                       help_text=_("Date of the baseline assessment (on or after consent)."))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    weight_kg = models.DecimalField(
        _("weight (kg)"), max_digits=5, decimal_places=1,
        validators=[LimitValidator(WEIGHT_KG_LIMITS, "kg", "A weight")],
    )
    height_cm = models.DecimalField(
        _("height (cm)"), max_digits=4, decimal_places=1,
        validators=[LimitValidator(HEIGHT_CM_LIMITS, "cm", "A height")],
    )
    # Disease status: optional in the record so that an API caller may send
    # demographics first; the form stays a draft until they are given.
    bone_marrow_blasts_percent = models.DecimalField(
        _("bone-marrow blasts (%)"), max_digits=5, decimal_places=2, null=True, blank=True,
        validators=[LimitValidator(PERCENT_LIMITS, "%", "A blast percentage")],
    )
    mrd_percent = models.DecimalField(
        _("MRD by flow cytometry (%)"), max_digits=7, decimal_places=4, null=True, blank=True,
        validators=[LimitValidator(PERCENT_LIMITS, "%", "An MRD level")],
        help_text=_("Blank when not done."),
    )
    extramedullary_sites = models.CharField(
        _("extramedullary sites"), max_length=200, blank=True,
        help_text=_("Sites of extramedullary disease (CNS, testis, …); blank when none."),
    )
    ph_status = models.CharField(_("Ph / BCR-ABL1 status"), max_length=12, choices=PhStatus.choices, blank=True)
    prior_lines_of_therapy = models.PositiveSmallIntegerField(
        _("prior lines of therapy"), null=True, blank=True, validators=[MaxValueValidator(30)],
    )
    prior_hsct = models.BooleanField(_("prior allogeneic HSCT"), null=True, blank=True)
    prior_blinatumomab = models.BooleanField(_("prior blinatumomab"), null=True, blank=True)
    prior_inotuzumab = models.BooleanField(_("prior inotuzumab ozogamicin"), null=True, blank=True)

    DISEASE_FIELDS = (
        "bone_marrow_blasts_percent", "ph_status", "prior_lines_of_therapy", "prior_hsct",
        "prior_blinatumomab", "prior_inotuzumab",
    )

    class Meta:
        verbose_name = _("baseline CRF")
        verbose_name_plural = _("baseline CRFs")

    def __str__(self):
        return f"{self.patient} baseline"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("patients:baseline_edit", args=[self.patient.study_id])

    @property
    def bsa_m2(self):
        """Mosteller, from this form's own weight and height (never stored twice)."""
        if self.weight_kg is None or self.height_cm is None or self.weight_kg <= 0 or self.height_cm <= 0:
            return None
        return body_surface_area_m2(height_cm=self.height_cm, weight_kg=self.weight_kg)

    @property
    def age_years(self):
        consent = self.patient.consent_date if self.patient_id else None
        if self.birth_date is None or consent is None or consent < self.birth_date:
            return None
        return age_years(birth_date=self.birth_date, on_date=consent)

    @property
    def disease_status_complete(self) -> bool:
        return all(getattr(self, name) not in (None, "") for name in self.DISEASE_FIELDS)

    def clean(self):
        from django.core.exceptions import ValidationError
        from django.utils import timezone

        errors = {}
        if self.birth_date and self.birth_date > timezone.localdate():
            errors["birth_date"] = _("The date of birth is in the future.")
        consent = self.patient.consent_date if self.patient_id else None
        if self.birth_date and consent and self.birth_date > consent:
            errors["birth_date"] = _("The date of birth is after the consent date (%(date)s).") % {
                "date": f"{consent:%Y-%m-%d}"}
        if self.assessment_date and self.assessment_date > timezone.localdate():
            errors["assessment_date"] = _("The assessment date is in the future.")
        elif self.assessment_date and consent and self.assessment_date < consent:
            errors["assessment_date"] = _("The baseline assessment is before consent (%(date)s).") % {
                "date": f"{consent:%Y-%m-%d}"}
        if errors:
            raise ValidationError(errors)
