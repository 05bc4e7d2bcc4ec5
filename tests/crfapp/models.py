from django.db import models

from crf.models import CaseReportForm


class SampleForm(CaseReportForm):
    class Performance(models.TextChoices):
        ECOG_0 = "0", "ECOG 0 — fully active"
        ECOG_1 = "1", "ECOG 1 — restricted in strenuous activity"
        ECOG_2 = "2", "ECOG 2 — ambulatory, capable of self-care"

    crf_code = "sample_form"
    crf_label = "Sample form"
    correctable_fields = ("assessment_date", "weight_kg", "performance_status")
    correction_service = "tests.crfapp.services.sample_form_correct"
    removal_service = "crf.services.crf_remove"  # the floor's removal, nothing derived from the form

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    assessment_date = models.DateField()
    weight_kg = models.DecimalField("weight (kg)", max_digits=5, decimal_places=1)
    performance_status = models.CharField("ECOG performance status", max_length=1, choices=Performance.choices)

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("monitoring:crf_detail", args=[self._meta.label_lower, self.pk])
