"""A submission package built in the background for a data manager: the ZIP of SDTM or ADaM datasets with
define.xml, and how far its build has come. Not clinical data (the package is rebuilt from the CRFs)."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SubmissionPackage(models.Model):
    class Standard(models.TextChoices):
        SDTM = "sdtm", _("SDTM (SDTMIG 3.4) tabulations")
        ADAM = "adam", _("ADaM (ADaMIG 1.3) analysis datasets")

    class Status(models.TextChoices):
        # A context: "Pending" is also the endpoints table's column (another word in Chinese).
        PENDING = "pending", pgettext_lazy("submission package status", "Pending")
        RUNNING = "running", pgettext_lazy("submission package status", "Running")
        DONE = "done", pgettext_lazy("submission package status", "Ready")
        FAILED = "failed", pgettext_lazy("submission package status", "Failed")

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    standard = models.CharField(_("standard"), max_length=4, choices=Standard.choices)
    cutoff = models.DateField(_("data cut-off"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(_("file"), upload_to="submission/", blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    total_steps = models.PositiveIntegerField(_("total steps"), default=0,
                                              help_text=_("Reading the records, then each dataset."))
    done_steps = models.PositiveIntegerField(_("done steps"), default=0)

    class Meta:
        verbose_name = _("submission package")
        verbose_name_plural = _("submission packages")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_standard_display()} package #{self.pk} (cut-off {self.cutoff:%Y-%m-%d})"

    @property
    def percent_done(self) -> int:
        return round(100 * self.done_steps / self.total_steps) if self.total_steps else 0

    @property
    def filename(self) -> str:
        return f"{self.standard}-{self.cutoff:%Y-%m-%d}.zip"
