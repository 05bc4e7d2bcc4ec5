"""Reads for the outcomes app: a patient's earlier responses, and the
per-patient courses the endpoints are computed from."""
import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import QuerySet

from crf.models import crf_model
from patients.models import Patient
from trial.selectors import primary_assessment_windows

from .models import EndOfStudy, EndOfStudyReason, FollowUp, FollowUpStatus, ResponseAssessment
from .rules import (
    COMPLETE_REMISSION_RESPONSES,
    DeathSource,
    PatientDeath,
    Response,
    patient_death_from,
    primary_assessment_index,
)
from .statistics import PatientCourse


def prior_complete_remission(
    *, patient: Patient, before: datetime.date, exclude_pk: int | None = None
) -> bool:
    """Whether an earlier assessment of the patient showed CR or CRi.

    "Earlier" is by assessment date; a same-day assessment does not count
    (two aspirates of one day describe the same marrow).
    """
    assessments = ResponseAssessment.objects.filter(
        patient=patient, removed=False, assessment_date__lt=before,
        response__in=list(COMPLETE_REMISSION_RESPONSES),
    )
    if exclude_pk is not None:
        assessments = assessments.exclude(pk=exclude_pk)
    return assessments.exists()


def first_relapse_and_death(
    *, patient: Patient, exclude_pk: int | None = None
) -> tuple[datetime.date | None, datetime.date | None]:
    """The first relapse date and the death date already on the patient's follow-up forms."""
    follow_ups = FollowUp.objects.filter(patient=patient, removed=False)
    if exclude_pk is not None:
        follow_ups = follow_ups.exclude(pk=exclude_pk)
    relapses = [d for d in follow_ups.values_list("relapse_date", flat=True) if d is not None]
    deaths = [d for d in follow_ups.values_list("death_date", flat=True) if d is not None]
    return min(relapses, default=None), min(deaths, default=None)


def _patient_filter(patients: QuerySet[Patient] | Iterable[int]) -> dict[str, object]:
    if isinstance(patients, QuerySet):
        return {"patient_id__in": patients.values("pk")}
    return {"patient_id__in": list(patients)}


def patient_deaths(patients: QuerySet[Patient] | Iterable[int]) -> dict[int, PatientDeath]:
    """Patient id -> the patient's one death, for the patients (a queryset or ids) that have one, read
    from every form that records a death: a follow-up's death date, a grade-5 adverse event's death
    date (safety's form, reached through the CRF registry) and an end of study for death. Removed
    forms are left out. Three queries, whatever the number of patients."""
    where = _patient_filter(patients)
    found: dict[int, list[DeathSource]] = defaultdict(list)
    for row in FollowUp.objects.filter(removed=False, death_date__isnull=False, **where).values(
            "pk", "patient_id", "death_date", "death_cause"):
        found[row["patient_id"]].append(DeathSource(
            crf_code=FollowUp.crf_code, crf_label=FollowUp.crf_label, pk=row["pk"], death_date=row["death_date"],
            cause=row["death_cause"]))
    for pk, patient_id, end_date in EndOfStudy.objects.filter(
            removed=False, end_reason=EndOfStudyReason.DEATH, **where).values_list("pk", "patient_id", "end_date"):
        found[patient_id].append(DeathSource(crf_code=EndOfStudy.crf_code, crf_label=EndOfStudy.crf_label, pk=pk,
                                             death_date=end_date))
    for code, label, rows in _other_death_rows(where):
        for pk, patient_id, death_date, cause in rows:
            found[patient_id].append(DeathSource(crf_code=code, crf_label=label, pk=pk, death_date=death_date,
                                                 cause=cause))
    return {patient_id: death for patient_id, sources in found.items()
            if (death := patient_death_from(sources)) is not None}


def _other_death_rows(where: dict[str, object]) -> list[tuple[str, str, list[tuple[int, int, datetime.date, str]]]]:
    """Deaths on the other apps' forms: a grade-5 adverse event (its term is the cause)."""
    try:
        adverse_event = crf_model("adverse_events")
    except LookupError:  # an installation without the safety app
        return []
    rows = [(pk, patient_id, death_date, f"{term} (grade 5 adverse event)")
            for pk, patient_id, death_date, term in adverse_event.objects.filter(
                removed=False, grade=5, death_date__isnull=False, **where).values_list(
                "pk", "patient_id", "death_date", "term")]
    return [(adverse_event.crf_code, adverse_event.crf_label, rows)]


def patient_death(patient: Patient) -> PatientDeath | None:
    """The patient's one death (date, cause, every source), or None: see `patient_deaths`."""
    return patient_deaths([patient.pk]).get(patient.pk)


def patient_courses(patients: QuerySet[Patient]) -> list[PatientCourse]:
    """One PatientCourse per infused patient of ``patients``, in eight queries whatever their number.

    * infusion date: ``Patient.infusion_date`` (day 0);
    * 1-month response and MRD: the response assessment closest to the
      primary-assessment day within its visit window (``rules.primary_assessment_index``);
      none there means no 1-month response (a failure in the ITT rates once
      the window has closed, pending before); the window's last day;
    * first remission: the earliest assessment whose derived response is CR
      or CRi (the duration of remission starts there);
    * first relapse: the earliest relapse date on a follow-up form, or the
      earliest assessment whose derived response is a relapse, if earlier;
    * death: the patient's one death (`patient_deaths`: a follow-up, a grade-5 adverse event or an
      end of study for death, the earliest date); allogeneic HSCT: the earliest on a follow-up form;
    * last contact: the latest follow-up contact or assessment date (the
      infusion date when there is neither);
    * lost to follow-up: the latest follow-up contact says so.
    Removed forms are left out.
    """
    infused = list(
        patients.filter(infusion_date__isnull=False)
        .order_by("subject_id")
        .values("pk", "subject_id", "screening_number", "infusion_date", "protocol_id")
    )
    ids = [p["pk"] for p in infused]
    windows = primary_assessment_windows(p["protocol_id"] for p in infused)

    assessments = defaultdict(list)
    for row in ResponseAssessment.objects.filter(patient_id__in=ids, removed=False).order_by(
        "assessment_date", "pk"
    ).values("patient_id", "assessment_date", "response", "mrd_negative"):
        assessments[row["patient_id"]].append(row)
    follow_ups = defaultdict(list)
    for row in FollowUp.objects.filter(patient_id__in=ids, removed=False).order_by(
        "contact_date", "pk"
    ).values("patient_id", "contact_date", "follow_up_status", "relapse_date", "death_date", "hsct_date"):
        follow_ups[row["patient_id"]].append(row)
    deaths = patient_deaths(ids)

    courses = []
    for patient in infused:
        infusion_date = patient["infusion_date"]
        if infusion_date is None:  # left out by the query above
            continue
        own_assessments = assessments[patient["pk"]]
        own_follow_ups = follow_ups[patient["pk"]]
        target_day, before, after = windows[patient["protocol_id"]]
        index = primary_assessment_index(
            [(a["assessment_date"] - infusion_date).days for a in own_assessments],
            target_day=target_day, window_before_days=before, window_after_days=after,
        )
        primary = own_assessments[index] if index is not None else None

        def first(dates):
            return min((d for d in dates if d is not None), default=None)

        remission_date = first(
            a["assessment_date"] for a in own_assessments if a["response"] in COMPLETE_REMISSION_RESPONSES
        )
        relapse_date = first(
            [f["relapse_date"] for f in own_follow_ups]
            + [a["assessment_date"] for a in own_assessments if a["response"] == Response.RELAPSE]
        )
        contacts = [f["contact_date"] for f in own_follow_ups] + [
            a["assessment_date"] for a in own_assessments
        ]
        courses.append(
            PatientCourse(
                subject_id=patient["subject_id"] or patient["screening_number"],
                infusion_date=infusion_date,
                last_contact_date=max(contacts, default=infusion_date),
                relapse_date=relapse_date,
                death_date=deaths[patient["pk"]].death_date if patient["pk"] in deaths else None,
                hsct_date=first(f["hsct_date"] for f in own_follow_ups),
                response_1_month=primary["response"] if primary else None,
                mrd_negative_1_month=primary["mrd_negative"] if primary else None,
                primary_assessment_date=primary["assessment_date"] if primary else None,
                first_remission_date=remission_date,
                primary_window_end_date=infusion_date + datetime.timedelta(days=target_day + after),
                lost_to_follow_up=bool(own_follow_ups)
                and own_follow_ups[-1]["follow_up_status"] == FollowUpStatus.LOST_TO_FOLLOW_UP,
            )
        )
    return courses
