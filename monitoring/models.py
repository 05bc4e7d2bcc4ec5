from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from simple_history.models import HistoricalRecords


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
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self):
        return f"{self.patient}: {self.rule} ({self.value})"
