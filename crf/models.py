"""What every case report form shares: its place in the CRF life cycle, the
protocol version it was collected under, and an audit trail.

draft → submitted → verified (monitor) → signed (investigator) → locked.
Nothing clinical is hard-deleted: removal is a status with a reason.
"""
from typing import TYPE_CHECKING, Any, ClassVar

from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from simple_history.models import HistoricalRecords


class CrfStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    VERIFIED = "verified", "Source-verified"
    SIGNED = "signed", "Signed"
    LOCKED = "locked", "Locked"


class CaseReportForm(models.Model):
    """Abstract base of every CRF.

    Concrete models define `patient` (a ForeignKey to patients.Patient), set
    `crf_code` (the vocabulary of the visit schedule's `forms`, such as
    `crs_assessment`) and `crf_label`, and define `get_absolute_url()`. Their
    app's urls name the entry page `<app_label>:<crf_code>_new`, taking the
    patient's study ID and an optional `?visit=<pk>`.
    """

    crf_code: str = ""
    crf_label: str = ""

    if TYPE_CHECKING:  # what every concrete CRF has (an abstract model has no manager of its own)
        objects: ClassVar[models.Manager[Any]]
        patient: Any
        patient_id: int

    status = models.CharField(max_length=12, choices=CrfStatus.choices, default=CrfStatus.SUBMITTED)
    protocol = models.ForeignKey(
        "trial.Protocol", on_delete=models.PROTECT, related_name="+",
        help_text="The protocol version this form was collected under.",
    )
    visit = models.ForeignKey(
        "patients.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="The scheduled visit this form belongs to, if any.",
    )
    removed = models.BooleanField(default=False)
    removal_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Optimistic concurrency: raised by every `crf_save`, never by a life-cycle step (verify, sign,
    # lock), which changes no value. An edit based on an older version is refused (`CrfConflict`).
    version = models.PositiveIntegerField(
        default=1, editable=False,
        help_text="Raised by one at each save of the form's values; an edit must be based on the current one.",
    )

    # inherit=True gives every concrete CRF its own history table, each row
    # with history_user, history_date and history_change_reason.
    history = HistoricalRecords(inherit=True)

    class Meta:
        abstract = True

    @property
    def crf_patient(self):
        return self.patient

    @property
    def is_locked(self) -> bool:
        return self.status == CrfStatus.LOCKED


def crf_models() -> list[type[CaseReportForm]]:
    """Every concrete CRF model, in app order — the registry the timeline,
    visit pages, reports and exports iterate."""
    return [
        model
        for model in apps.get_models()
        if issubclass(model, CaseReportForm) and model.crf_code
    ]


def crf_children(model) -> list[tuple[type, "models.ForeignKey"]]:
    """The child records of a CRF (lymphodepletion doses, infusion fractions, SAE reports…) as
    (child model, its foreign key to the CRF): every audited model with a foreign key to the CRF
    model. Bookkeeping rows that are not audited (the SAE overdue notice) are not clinical data."""
    from simple_history.models import registered_models

    audited = set(registered_models.values())
    return [
        (child, fk)
        for child in apps.get_models()
        if child in audited and not issubclass(child, CaseReportForm)
        for fk in child._meta.concrete_fields
        if fk.is_relation and fk.many_to_one and fk.related_model is model
    ]


def crf_model(crf_code: str) -> type[CaseReportForm]:
    for model in crf_models():
        if model.crf_code == crf_code:
            return model
    raise LookupError(f"No CRF is registered under {crf_code!r}.")


def refuse_hard_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """pre_delete receiver of every clinical model (monitoring/apps.py): nothing clinical is
    hard-deleted, by any role or code path — Model.delete(), QuerySet.delete() or a cascade."""
    label = getattr(instance, "crf_label", "") or sender._meta.verbose_name.capitalize()
    raise PermissionDenied(f"{label} is a clinical record and is never deleted; mark it removed with a reason.")


def child_value_fields(child, fk) -> list:
    """The data fields of a child record: all but its key, its link to the form and bookkeeping."""
    from .services import BOOKKEEPING_FIELDS

    return [f for f in child._meta.concrete_fields
            if f.name not in BOOKKEEPING_FIELDS and f.name != fk.name]


def child_label(child) -> str:
    """What a heading calls the rows: "Lymphodepletion doses", "SAE reports"."""
    from django.utils.text import capfirst

    return capfirst(str(child._meta.verbose_name_plural))
