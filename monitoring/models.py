from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from trial.history import HistoricalRecords

from .texts import shown


class ProtocolDeviation(models.Model):
    """A soft check that failed and was saved anyway, with the reason given."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="deviations")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    crf = GenericForeignKey("content_type", "object_id")
    crf_label = models.CharField(max_length=100)
    rule = models.CharField(max_length=60)
    field = models.CharField(max_length=60, blank=True)
    message = models.CharField(max_length=400)
    value = models.CharField(max_length=200, blank=True)
    message_translations = models.JSONField(
        default=dict, blank=True,
        help_text=_("The message in the other languages of the application, by language code; the record keeps "
                    "the English."))
    severity = models.CharField(max_length=5, choices=[("minor", _("Minor")), ("major", _("Major"))],
                                default="minor",
                                help_text=_("Major: may affect the patient's safety or the reliability of the data."))
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        verbose_name = _("protocol deviation")
        verbose_name_plural = _("protocol deviations")

    def __str__(self):
        return f"{self.patient}: {self.rule} ({self.value})"

    @property
    def message_shown(self) -> str:
        """The check's message in the reader's language (the record keeps the English)."""
        return shown(self.message, self.message_translations)


class QueryStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("query status", "Open")
    ANSWERED = "answered", pgettext_lazy("query status", "Answered")
    CLOSED = "closed", pgettext_lazy("query status", "Closed")


class DataQuery(models.Model):
    """A question about one field of one CRF, raised by a monitor, a data
    manager or an edit check, answered at the site, closed by the monitor."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="data_queries")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    crf = GenericForeignKey("content_type", "object_id")
    crf_label = models.CharField(max_length=100)
    field = models.CharField(max_length=60)
    field_label = models.CharField(max_length=120)
    text = models.TextField()
    text_translations = models.JSONField(
        default=dict, blank=True,
        help_text=_("An edit check's text in the other languages of the application, by language code; the "
                    "record keeps the English."))
    status = models.CharField(max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    automatic = models.BooleanField(default=False, help_text=_("Raised by an edit check, not by a person."))
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    raised_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["raised_at"]
        verbose_name = _("data query")
        verbose_name_plural = _("data queries")
        indexes = [models.Index(fields=["content_type", "object_id"]), models.Index(fields=["status"])]

    def __str__(self):
        return gettext("Query #%(pk)s on %(patient)s %(form)s · %(field)s") % {
            "pk": self.pk, "patient": self.patient, "form": shown(self.crf_label), "field": shown(self.field_label)}

    @property
    def text_shown(self) -> str:
        """The query as the reader sees it: an edit check's text in their language (the record keeps the
        English), a person's as typed."""
        return shown(self.text, self.text_translations) if self.automatic else self.text

    @property
    def is_open(self) -> bool:
        return self.status != QueryStatus.CLOSED


class QueryMessage(models.Model):
    """One step of a query's conversation: raised, answered, closed, re-opened."""

    class Action(models.TextChoices):
        RAISE = "raise", _("Raised")
        ANSWER = "answer", pgettext_lazy("query action", "Answered")
        CORRECT = "correct", _("Answered and corrected the value")
        CLOSE = "close", pgettext_lazy("query action", "Closed")
        REOPEN = "reopen", _("Re-opened")

    query = models.ForeignKey(DataQuery, on_delete=models.PROTECT, related_name="messages")
    action = models.CharField(max_length=10, choices=Action.choices)
    text = models.TextField(blank=True)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("query message")
        verbose_name_plural = _("query messages")


class SourceVerification(models.Model):
    """A monitor's mark that a CRF (field blank) or one of its fields matches
    the source documents. An edit of the value clears it (cleared_at set)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    crf = GenericForeignKey("content_type", "object_id")
    field = models.CharField(max_length=60, blank=True, help_text=_("Blank: the whole form."))
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(auto_now_add=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_reason = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["verified_at"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        verbose_name = _("source-data verification")
        verbose_name_plural = _("source-data verifications")

    @property
    def is_active(self) -> bool:
        return self.cleared_at is None


class Signature(models.Model):
    """An investigator's electronic signature of one CRF (21 CFR 11.50):
    printed name, date and time, and meaning; bound to the values signed by
    their hash so that a later change is detectable. Written only by
    `monitoring.services.crf_sign`; never edited, only voided."""

    # The meaning is stored in English (the signature record reads the same to every auditor); the signer and
    # every reader see it in their language (`meaning_shown`).
    MEANING_REVIEWED = "Reviewed and approved"
    MEANINGS = {MEANING_REVIEWED: _("Reviewed and approved")}

    class HashScope(models.TextChoices):
        FORM_AND_ROWS = "form_and_rows", _("The form's values and its child rows")
        # Signatures of lymphodepletion and infusion forms given before their rows (doses, fractions) were
        # part of the hash (set by infusions migration 0007; never given today).
        FORM_VALUES = "form_values", _("The form's own values; its rows as the audit trail had them when signed")

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    crf = GenericForeignKey("content_type", "object_id")
    crf_label = models.CharField(max_length=100)
    visit = models.ForeignKey("patients.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              help_text=_("Set when the investigator signed the whole visit."))
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_full_name = models.CharField(max_length=300)
    signed_at = models.DateTimeField()
    meaning = models.CharField(max_length=100, default=MEANING_REVIEWED)
    values_sha256 = models.CharField(max_length=64)
    hash_scope = models.CharField(
        max_length=20, choices=HashScope.choices, default=HashScope.FORM_AND_ROWS,
        help_text=_("What values_sha256 covers, so a signature is judged by the hash it was given with."))
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["signed_at"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")

    def __str__(self):
        return f"{self.signer_full_name} — {self.meaning_shown} — {self.signed_at:%Y-%m-%d %H:%M}"

    @property
    def meaning_shown(self) -> str:
        """The meaning in the reader's language (the record keeps the English)."""
        meaning = self.MEANINGS.get(self.meaning)
        return str(meaning) if meaning is not None else self.meaning

    @property
    def is_valid(self) -> bool:
        return self.voided_at is None


class LockScope(models.TextChoices):
    CRF = "crf", _("Form")
    VISIT = "visit", _("Visit")
    PATIENT = "patient", _("Patient")
    TRIAL = "trial", _("Whole trial (database lock)")


class DataLock(models.Model):
    """A data manager's lock of a form, a visit, a patient or the whole trial.
    Active while unlocked_at is empty; unlocking needs a reason."""

    scope = models.CharField(max_length=10, choices=LockScope.choices)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    visit = models.ForeignKey("patients.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    crf = GenericForeignKey("content_type", "object_id")
    previous_crf_status = models.CharField(max_length=12, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    locked_at = models.DateTimeField(auto_now_add=True)
    unlocked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    unlocked_at = models.DateTimeField(null=True, blank=True)
    unlock_reason = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-locked_at"]
        verbose_name = _("data lock")
        verbose_name_plural = _("data locks")

    def __str__(self):
        if self.scope == LockScope.TRIAL:
            return gettext("Lock of the trial")
        if self.scope in (LockScope.PATIENT, LockScope.VISIT):
            target = self.patient if self.scope == LockScope.PATIENT else self.visit
            return gettext("Lock of %(target)s") % {"target": target}
        return gettext("Lock of %(patient)s form #%(pk)s") % {"patient": self.patient, "pk": self.object_id}


class ExportRecord(models.Model):
    """Who exported what, when: every download of trial data leaves a row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=40)
    description = models.CharField(max_length=300)
    description_translations = models.JSONField(
        default=dict, blank=True,
        help_text=_("The description in the other languages of the application, by language code; the log keeps "
                    "the English."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("export record")
        verbose_name_plural = _("export records")

    @property
    def description_display(self) -> str:
        """What was exported, in the reader's language (the log keeps the English)."""
        return shown(self.description, self.description_translations)


class ExportJob(models.Model):
    """A batch PDF casebook export run by Celery (or, without a broker, a background thread of the web
    process); the file appears when ready, and the page shows how many casebooks are done."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("casebook batch", "Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patients = models.ManyToManyField("patients.Patient", related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to="exports/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total_count = models.PositiveIntegerField(default=0, help_text=_("Casebooks in the batch."))
    done_count = models.PositiveIntegerField(default=0, help_text=_("Casebooks written so far."))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("casebook batch")
        verbose_name_plural = _("casebook batches")

    @property
    def percent_done(self) -> int:
        return round(100 * self.done_count / self.total_count) if self.total_count else 0
