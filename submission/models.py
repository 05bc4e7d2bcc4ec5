"""A submission package built in the background for a data manager: the ZIP of SDTM or ADaM datasets with
define.xml, and how far its build has come. Not clinical data (the package is rebuilt from the CRFs)."""
from django.conf import settings
from django.db import models


class SubmissionPackage(models.Model):
    class Standard(models.TextChoices):
        SDTM = "sdtm", "SDTM (SDTMIG 3.4) tabulations"
        ADAM = "adam", "ADaM (ADaMIG 1.3) analysis datasets"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    standard = models.CharField(max_length=4, choices=Standard.choices)
    cutoff = models.DateField("data cut-off")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to="submission/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total_steps = models.PositiveIntegerField(default=0, help_text="Reading the records, then each dataset.")
    done_steps = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_standard_display()} package #{self.pk} (cut-off {self.cutoff:%Y-%m-%d})"

    @property
    def percent_done(self) -> int:
        return round(100 * self.done_steps / self.total_steps) if self.total_steps else 0

    @property
    def filename(self) -> str:
        return f"{self.standard}-{self.cutoff:%Y-%m-%d}.zip"
