"""What every case report form shares: its place in the CRF life cycle, the
protocol version it was collected under, and an audit trail.

draft → submitted → verified (monitor) → signed (investigator) → locked.
Nothing clinical is hard-deleted: removal is a status with a reason.
"""
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trial.history import HistoricalRecords


class CrfStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    VERIFIED = "verified", _("Source-verified")
    SIGNED = "signed", _("Signed")
    LOCKED = "locked", _("Locked")


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
    #: The data-entry fields a query answer may correct (model field names): never keys, the life-cycle
    #: status, derived values or system columns.
    correctable_fields: tuple[str, ...] = ()
    #: The form's own write path for a one-field correction, as "app.module.function", called as
    #: ``function(crf=…, field=…, value=…, by=…, reason=…, acknowledge_deviation=…, deviation_reason=…)``;
    #: it re-runs the form's service (hard and soft checks, derived values, dependent records) with that
    #: one value changed and returns the saved form.
    correction_service: str = ""
    #: Correctable fields holding a list or a table (JSON: eligibility answers, seriousness criteria, CAPD
    #: items), each with the "app.module.function" that gives, for a form, the form field typing a query's
    #: new value (the page's widget, the API's JSON checked): ``function(crf) -> django.forms.Field``.
    structured_fields: ClassVar[dict[str, str]] = {}
    #: The form's own way out of the record, as "app.module.function", called as
    #: ``function(crf=…, by=…, reason=…)``: `crf.services.crf_remove` (a status with a reason, never a
    #: delete) and whatever follows from it (the responses re-derived, the CRS course re-graded, the one
    #: death reconciled). "" for a form that is corrected, never removed (screening, baseline,
    #: lymphodepletion, infusion, end of study: they carry enrollment, day 0 and the end of study).
    removal_service: ClassVar[str] = ""
    #: Date fields that hold a plan, not a clinical fact: they may lie in the future.
    planned_date_fields: tuple[str, ...] = ()
    #: The date of a form that shows the patient seen in follow-up (a response assessment, a follow-up
    #: contact): one in force dated from the day the 1-month assessment's window opens puts an infused patient
    #: "in follow-up" (`patients.rules.in_follow_up`, read through this registry by
    #: `patients.services.patient_record_status`). "" for every other form.
    follow_up_date_field: ClassVar[str] = ""

    if TYPE_CHECKING:  # what every concrete CRF has (an abstract model has no manager of its own)
        objects: ClassVar[models.Manager[Any]]
        patient: Any
        patient_id: int

    status = models.CharField(max_length=12, choices=CrfStatus.choices, default=CrfStatus.SUBMITTED)
    protocol = models.ForeignKey(
        "trial.Protocol", on_delete=models.PROTECT, related_name="+",
        help_text=_("The protocol version this form was collected under."),
    )
    visit = models.ForeignKey(
        "patients.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("The scheduled visit this form belongs to, if any."),
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
        help_text=_("Raised by one at each save of the form's values; an edit must be based on the current one."),
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


class CrfChildRowQuerySet(models.QuerySet):
    def active(self):
        return self.filter(removed=False)


class ActiveChildRowManager(models.Manager.from_queryset(CrfChildRowQuerySet)):
    """The rows in force: what the form's readers (the dose, the plan, the pages, the API) count."""

    def get_queryset(self):
        return super().get_queryset().filter(removed=False)


class CrfChildRow(models.Model):
    """Abstract base of a row that is part of a CRF (a lymphodepletion dose, an infusion fraction).

    The form's signature and SDV cover its rows (`monitoring.services.crf_values_sha256`), and a row is
    never deleted: one that no longer applies is marked `removed` with a reason and stays in the history
    and the casebook. `objects` (also the form's reverse relation, such as ``course.doses``) gives the
    rows in force; `all_rows` gives every row, removed ones included."""

    removed = models.BooleanField(default=False, help_text=_("No longer part of the form; kept for the record."))
    removal_reason = models.CharField(max_length=300, blank=True)

    objects = ActiveChildRowManager()
    all_rows = CrfChildRowQuerySet.as_manager()

    planned_date_fields: tuple[str, ...] = ()
    #: The form's service that removes one row, as "app.module.function", called as ``function(row=…, by=…,
    #: reason=…, acknowledge_deviation=…, deviation_reason=…)``: it records the form again without the row,
    #: so its checks and derived values follow, and the row is marked removed with the reason.
    removal_service: ClassVar[str] = ""

    class Meta:
        abstract = True


@dataclass(frozen=True)
class CrfChild:
    """A kind of child record of a CRF: the model and its foreign key to the form (``for model, fk in …``)."""

    model: Any  # the child model class
    fk: Any  # its models.ForeignKey to the form

    def __iter__(self) -> Iterator[Any]:
        return iter((self.model, self.fk))

    @property
    def is_form_row(self) -> bool:
        """Part of the form (a `CrfChildRow`): signed and verified with it, written by `crf_child_rows_save`,
        never deleted. The others are records about the form (an SAE report), shown beside it."""
        return issubclass(self.model, CrfChildRow)


def crf_children(model, *, form_rows_only: bool = False) -> list[CrfChild]:
    """The child records of a CRF model, each as (child model, its foreign key to the form): the form's
    rows (`CrfChildRow`: lymphodepletion doses, infusion fractions) and every other audited model with a
    foreign key to it (SAE reports). The outputs (CRF page, PDFs, CSVs, ODM) show them all; the signature,
    the SDV and `crf_child_rows_save` cover the rows alone (``form_rows_only``). Bookkeeping that is not
    audited (the SAE overdue notice) is not clinical data. A new model with a key to a CRF is found the
    day it is added."""
    from simple_history.models import registered_models

    audited = set(registered_models.values())
    children = [
        CrfChild(child, fk)
        for child in apps.get_models()
        if (child in audited or issubclass(child, CrfChildRow)) and not issubclass(child, CaseReportForm)
        for fk in child._meta.concrete_fields
        if isinstance(fk, models.ForeignKey) and fk.many_to_one and fk.related_model is model
    ]
    return [child for child in children if child.is_form_row] if form_rows_only else children


def crf_child_rows(crf, *, include_removed: bool = True) -> list[CrfChildRow]:
    """Every row of the form (removed ones too unless asked not to), by model then key."""
    rows: list[CrfChildRow] = []
    if crf.pk is None:
        return rows
    for row_model, fk in crf_children(type(crf), form_rows_only=True):
        manager = row_model.all_rows if include_removed else row_model.objects
        rows.extend(manager.filter(**{fk.attname: crf.pk}).order_by("pk"))
    return rows


def crf_child_models() -> list[type[CrfChildRow]]:
    return [model for model in apps.get_models() if issubclass(model, CrfChildRow)]


def clinical_date_fields(model) -> list:
    """The date and date-time fields of a CRF or child row that record when something happened:
    every one but the bookkeeping stamps and the declared plans (a visit's target, a planned dose day)."""
    planned = set(getattr(model, "planned_date_fields", ()))
    return [
        field for field in model._meta.concrete_fields
        if isinstance(field, (models.DateField, models.DateTimeField))
        and field.name not in planned
        and not (getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
    ]


def future_clinical_date_errors(instance, *, now=None) -> dict[str, str]:
    """A clinical date or time after today (or now) is impossible: one message per field."""
    from django.utils import timezone

    now = now or timezone.now()
    today = timezone.localdate(now)
    errors = {}
    for field in clinical_date_fields(type(instance)):
        value = getattr(instance, field.attname)
        if value is None:
            continue
        if isinstance(field, models.DateTimeField):
            future = value > now
            shown = f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if timezone.is_aware(value) else str(value)
        else:
            future = value > today
            shown = f"{value:%Y-%m-%d}"
        if future:
            errors[field.name] = gettext("%(field)s %(value)s is in the future.") % {
                "field": str(field.verbose_name).capitalize(), "value": shown}
    return errors


def crf_models() -> list[type[CaseReportForm]]:
    """Every concrete CRF model, in app order — the registry the timeline,
    visit pages, reports and exports iterate."""
    return [
        model
        for model in apps.get_models()
        if issubclass(model, CaseReportForm) and model.crf_code
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
    raise PermissionDenied(gettext("%(record)s is a clinical record and is never deleted; mark it removed with a "
                                   "reason.") % {"record": label})


def child_value_fields(child, fk) -> list:
    """The data fields of a child record: all but its key, its link to the form and bookkeeping."""
    from .services import BOOKKEEPING_FIELDS

    return [f for f in child._meta.concrete_fields
            if f.name not in BOOKKEEPING_FIELDS and f.name != fk.name]


def child_label(child) -> str:
    """What a heading calls the rows: "Lymphodepletion doses", "SAE reports"."""
    from django.utils.text import capfirst

    return capfirst(str(child._meta.verbose_name_plural))
