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

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="deviations",
                                verbose_name=_("patient"))
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, verbose_name=_("form type"))
    object_id = models.PositiveBigIntegerField(verbose_name=_("form ID"))
    crf = GenericForeignKey("content_type", "object_id")
    crf_label = models.CharField(max_length=100, verbose_name=_("form"))
    rule = models.CharField(max_length=60, verbose_name=_("soft check"))
    field = models.CharField(max_length=60, blank=True, verbose_name=_("field"))
    message = models.CharField(max_length=400, verbose_name=_("message"))
    value = models.CharField(max_length=200, blank=True, verbose_name=_("value"))
    message_translations = models.JSONField(
        default=dict, blank=True,
        help_text=_("The message in the other languages of the application, by language code; the record keeps "
                    "the English."), verbose_name=_("message in other languages"))
    severity = models.CharField(max_length=5, choices=[("minor", _("Minor")), ("major", _("Major"))],
                                default="minor",
                                help_text=_("Major: may affect the patient's safety or the reliability of the data."),
                                verbose_name=_("severity"))
    reason = models.TextField(verbose_name=_("reason"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

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

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="data_queries",
                                verbose_name=_("patient"))
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("form type"))
    object_id = models.PositiveBigIntegerField(verbose_name=_("form ID"))
    crf = GenericForeignKey("content_type", "object_id")
    crf_label = models.CharField(max_length=100, verbose_name=_("form"))
    field = models.CharField(max_length=60, verbose_name=_("field"))
    field_label = models.CharField(max_length=120, verbose_name=_("field name"))
    text = models.TextField(verbose_name=_("text"))
    text_translations = models.JSONField(
        default=dict, blank=True,
        help_text=_("An edit check's text in the other languages of the application, by language code; the "
                    "record keeps the English."), verbose_name=_("text in other languages"))
    status = models.CharField(max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN,
                              verbose_name=_("status"))
    automatic = models.BooleanField(default=False, help_text=_("Raised by an edit check, not by a person."),
                                    verbose_name=_("automatic"))
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    , verbose_name=_("raised by"))
    raised_at = models.DateTimeField(auto_now_add=True, verbose_name=_("raised at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))

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

    query = models.ForeignKey(DataQuery, on_delete=models.PROTECT, related_name="messages", verbose_name=_("query"))
    action = models.CharField(max_length=10, choices=Action.choices, verbose_name=_("action"))
    text = models.TextField(blank=True, verbose_name=_("text"))
    old_value = models.CharField(max_length=200, blank=True, verbose_name=_("old value"))
    new_value = models.CharField(max_length=200, blank=True, verbose_name=_("new value"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("written by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("query message")
        verbose_name_plural = _("query messages")


class SourceVerification(models.Model):
    """A monitor's mark that a CRF (field blank) or one of its fields matches
    the source documents. An edit of the value clears it (cleared_at set)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("patient"))
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("form type"))
    object_id = models.PositiveBigIntegerField(verbose_name=_("form ID"))
    crf = GenericForeignKey("content_type", "object_id")
    field = models.CharField(max_length=60, blank=True, help_text=_("Blank: the whole form."), verbose_name=_("field"))
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("verified by"))
    verified_at = models.DateTimeField(auto_now_add=True, verbose_name=_("verified at"))
    cleared_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cleared at"))
    cleared_reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason cleared"))

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

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("patient"))
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("form type"))
    object_id = models.PositiveBigIntegerField(verbose_name=_("form ID"))
    crf = GenericForeignKey("content_type", "object_id")
    crf_label = models.CharField(max_length=100, verbose_name=_("form"))
    visit = models.ForeignKey("patients.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              help_text=_("Set when the investigator signed the whole visit."), verbose_name=_("visit"))
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("signer"))
    signer_full_name = models.CharField(max_length=300, verbose_name=_("signer's full name"))
    signed_at = models.DateTimeField(verbose_name=_("signed at"))
    meaning = models.CharField(max_length=100, default=MEANING_REVIEWED, verbose_name=_("meaning"))
    values_sha256 = models.CharField(max_length=64, verbose_name=_("hash of the values (SHA-256)"))
    hash_scope = models.CharField(
        max_length=20, choices=HashScope.choices, default=HashScope.FORM_AND_ROWS,
        help_text=_("What values_sha256 covers, so a signature is judged by the hash it was given with."),
        verbose_name=_("what the hash covers"))
    voided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("voided at"))
    void_reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason voided"))

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

    scope = models.CharField(max_length=10, choices=LockScope.choices, verbose_name=_("scope"))
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("patient"))
    visit = models.ForeignKey("patients.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("visit"))
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("form type"))
    object_id = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("form ID"))
    crf = GenericForeignKey("content_type", "object_id")
    previous_crf_status = models.CharField(max_length=12, blank=True, verbose_name=_("form status before the lock"))
    reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason"))
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("locked by"))
    locked_at = models.DateTimeField(auto_now_add=True, verbose_name=_("locked at"))
    unlocked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("unlocked by"))
    unlocked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("unlocked at"))
    unlock_reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason for unlocking"))

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

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("user"))
    kind = models.CharField(max_length=40, verbose_name=_("kind"))
    description = models.CharField(max_length=300, verbose_name=_("description"))
    description_translations = models.JSONField(
        default=dict, blank=True,
        help_text=_("The description in the other languages of the application, by language code; the log keeps "
                    "the English."), verbose_name=_("description in other languages"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

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

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    patients = models.ManyToManyField("patients.Patient", related_name="+", verbose_name=_("patients"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    file = models.FileField(upload_to="exports/", blank=True, verbose_name=_("file"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    total_count = models.PositiveIntegerField(default=0, help_text=_("Casebooks in the batch."),
                                              verbose_name=_("casebooks in all"))
    done_count = models.PositiveIntegerField(default=0, help_text=_("Casebooks written so far."),
                                             verbose_name=_("casebooks done"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("casebook batch")
        verbose_name_plural = _("casebook batches")

    @property
    def percent_done(self) -> int:
        return round(100 * self.done_count / self.total_count) if self.total_count else 0
