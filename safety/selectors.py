"""Reads of safety data for pages, the API and the figures."""
import datetime
from dataclasses import dataclass

from django.core.exceptions import FieldError
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext

from crf.models import crf_model
from patients.models import Patient
from patients.rules import study_day

from .models import AdverseEvent, CrsAssessment, IcansAssessment
from .summaries import Episode, Incidence, TermRow, episode, incidence, term_table

SWIMMER_LAST_DAY = 28
# One lane per patient stays readable (and quick to draw) up to about this many;
# a network's thousands of patients would make a picture metres tall.
SWIMMER_MAX_LANES = 200


def patient_day(patient: Patient, on_date) -> int | None:
    if on_date is None or patient.infusion_date is None:
        return None
    return study_day(on_date=on_date, infusion_date=patient.infusion_date)


def crs_episode(patient: Patient, assessments=None) -> Episode:
    assessments = assessments if assessments is not None else patient.crs_assessments.filter(removed=False)
    day0 = patient.infusion_date
    return episode((study_day(on_date=a.assessment_date, infusion_date=day0), a.grade) for a in assessments
                   if day0 is not None)


def icans_episode(patient: Patient, assessments=None) -> Episode:
    assessments = assessments if assessments is not None else patient.icans_assessments.filter(removed=False)
    day0 = patient.infusion_date
    return episode((study_day(on_date=a.assessment_date, infusion_date=day0), a.grade) for a in assessments
                   if day0 is not None)


@dataclass(frozen=True)
class DeathRecordLink:
    url: str  # empty until the follow-up death record exists
    text: str


def death_record_link(patient: Patient) -> DeathRecordLink:
    """The follow-up CRF recording the patient's death (outcomes app), when there is one.

    Found through the CRF registry by its schedule code `follow_up`, so this works as soon
    as outcomes registers that CRF with a `death_date`, without importing its models.
    """
    try:
        model = crf_model("follow_up")
        record = model.objects.filter(patient=patient, removed=False, death_date__isnull=False).first()
    except (LookupError, FieldError):
        record = None
    if record is not None:
        return DeathRecordLink(url=record.get_absolute_url(), text=gettext("Follow-up death record (%(date)s)") % {
            "date": record.death_date})
    try:
        url = reverse("outcomes:follow_up_new", args=[patient.study_id])
    except NoReverseMatch:
        url = ""
    return DeathRecordLink(
        url=url,
        text=gettext("No follow-up death record yet: record the death on the follow-up CRF; this event will link to "
                     "it."),
    )


@dataclass(frozen=True)
class PatientSafetyRow:
    patient: Patient
    crs: Episode
    icans: Episode


@dataclass(frozen=True)
class TrialSafetySummary:
    n_infused: int
    crs_any: Incidence
    crs_grade_3: Incidence
    icans_any: Incidence
    icans_grade_3: Incidence
    patients: list[PatientSafetyRow]
    terms: list[TermRow]


def infused_patients(user):
    return (Patient.objects.visible_to(user).filter(infusion_date__isnull=False)
            .select_related("site").order_by("site__code", "subject_id"))


def trial_safety_summary(user) -> TrialSafetySummary:
    patients = list(infused_patients(user))
    ids = [patient.pk for patient in patients]
    crs_by_patient: dict[int, list[CrsAssessment]] = {}
    icans_by_patient: dict[int, list[IcansAssessment]] = {}
    for assessment in CrsAssessment.objects.filter(patient_id__in=ids, removed=False):
        crs_by_patient.setdefault(assessment.patient_id, []).append(assessment)
    for assessment in IcansAssessment.objects.filter(patient_id__in=ids, removed=False):
        icans_by_patient.setdefault(assessment.patient_id, []).append(assessment)
    rows = [
        PatientSafetyRow(patient, crs_episode(patient, crs_by_patient.get(patient.pk, [])),
                         icans_episode(patient, icans_by_patient.get(patient.pk, [])))
        for patient in patients
    ]
    n = len(patients)
    events = AdverseEvent.objects.filter(patient_id__in=ids, removed=False).values_list("patient_id", "term", "grade")
    return TrialSafetySummary(
        n_infused=n,
        crs_any=incidence((row.crs.worst_grade for row in rows), n=n, at_least=1),
        crs_grade_3=incidence((row.crs.worst_grade for row in rows), n=n, at_least=3),
        icans_any=incidence((row.icans.worst_grade for row in rows), n=n, at_least=1),
        icans_grade_3=incidence((row.icans.worst_grade for row in rows), n=n, at_least=3),
        patients=rows,
        terms=term_table(events, n=n),
    )


def swimmer_lanes(user) -> list[tuple[str, list[tuple[int, int]], list[tuple[int, int]]]]:
    """Per infused patient: (study ID, [(day, CRS grade)], [(day, ICANS grade)]) for days 0–28.

    The SWIMMER_MAX_LANES most recently infused patients, in site and subject order."""
    lanes = []
    recent = infused_patients(user).order_by("-infusion_date", "-pk").values("pk")[:SWIMMER_MAX_LANES]
    patients = list(infused_patients(user).filter(pk__in=recent))
    ids = [patient.pk for patient in patients]
    crs: dict[int, list[tuple[datetime.date, int]]] = {}
    icans: dict[int, list[tuple[datetime.date, int]]] = {}
    for model, target in ((CrsAssessment, crs), (IcansAssessment, icans)):
        for patient_id, on_date, grade in model.objects.filter(patient_id__in=ids, removed=False).values_list(
            "patient_id", "assessment_date", "grade"
        ):
            target.setdefault(patient_id, []).append((on_date, grade))
    def days(patient: Patient, pairs: list[tuple[datetime.date, int]]) -> list[tuple[int, int]]:
        found = [(patient_day(patient, on_date), grade) for on_date, grade in pairs]
        return sorted((day, grade) for day, grade in found if day is not None and 0 <= day <= SWIMMER_LAST_DAY)

    for patient in patients:
        lanes.append((patient.study_id, days(patient, crs.get(patient.pk, [])),
                      days(patient, icans.get(patient.pk, []))))
    return lanes
