"""The subject and their scheduled visits. Subjects are known by study ID
only: no names are stored."""
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from trial.models import Site
from trial.rules import VisitStatus
from trial.roles import is_trial_wide


class PatientStatus(models.TextChoices):
    SCREENING = "screening", "Screening"
    SCREEN_FAILED = "screen_failed", "Screen failure"
    ENROLLED = "enrolled", "Enrolled"
    LYMPHODEPLETION = "lymphodepletion", "Lymphodepletion"
    INFUSED = "infused", "Infused"
    FOLLOW_UP = "follow_up", "In follow-up"
    OFF_STUDY = "off_study", "Off study"


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"


class PatientQuerySet(models.QuerySet):
    def visible_to(self, user) -> "PatientQuerySet":
        """The one gate to patient data: every view and API endpoint starts here."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if is_trial_wide(user):
            return self.all()
        return self.filter(site__memberships__user=user).distinct()

    def by_study_id(self, study_id: str) -> "PatientQuerySet":
        """Enrolled patients are addressed by subject ID, screen failures by screening number."""
        return self.filter(Q(subject_id=study_id) | Q(screening_number=study_id))


class Patient(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    protocol = models.ForeignKey(
        "trial.Protocol", on_delete=models.PROTECT, related_name="patients",
        help_text="The protocol version the patient was screened under.",
    )
    screening_number = models.CharField(max_length=20, unique=True)
    subject_id = models.CharField(max_length=20, unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=PatientStatus.choices, default=PatientStatus.SCREENING)

    sex = models.CharField(max_length=1, choices=Sex.choices)
    birth_date = models.DateField()
    consent_date = models.DateField(help_text="Date informed consent was signed.")
    screening_date = models.DateField()
    enrollment_date = models.DateField(null=True, blank=True)
    screen_failure_reason = models.TextField(blank=True)
    # Day 0 of the study-day axis: the first CAR-T fraction. Written only by
    # the infusion service, from the infusion CRF.
    infusion_date = models.DateField(null=True, blank=True, editable=False)
    off_study_date = models.DateField(null=True, blank=True)
    off_study_reason = models.CharField(max_length=200, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)

    objects = PatientQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["site__code", "subject_id", "screening_number"]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["site", "status"])]

    def __str__(self):
        return self.study_id

    @property
    def study_id(self) -> str:
        return self.subject_id or self.screening_number

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

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="visits")
    definition = models.ForeignKey("trial.VisitDefinition", on_delete=models.PROTECT, related_name="+")
    target_date = models.DateField()
    window_start = models.DateField()
    window_end = models.DateField()
    status = models.CharField(max_length=14, choices=VisitStatus.choices, default=VisitStatus.SCHEDULED)
    status_reason = models.CharField(max_length=200, blank=True)
    done_date = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
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
        indexes = [models.Index(fields=["status", "window_end"])]

    def __str__(self):
        return f"{self.patient} {self.definition.code}"

    @property
    def code(self) -> str:
        return self.definition.code
