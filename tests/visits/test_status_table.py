"""The daily status job (visits.services.visits_update_status, set-based SQL) and the rule for one
visit (trial.rules.visit_status) read the same status table, trial.rules.VISIT_WINDOW_BANDS: on
random visits, windows, grace periods, data and off-study dates they must give the same status."""
import datetime

import pytest
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from patients.models import PatientStatus, Visit
from tests.crfapp.models import SampleForm
from trial.models import VisitDefinition
from trial.rules import VISIT_WINDOW_BANDS, VisitStatus, WindowEdge, visit_status
from visits import services

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 1)

visit_spec = st.fixed_dictionaries({
    "start": st.integers(-70, 40),  # window_start, in days from today
    "length": st.integers(0, 30),  # window_end - window_start
    "status": st.sampled_from(services.WINDOW_STATUSES),  # where yesterday's run left it
    "data_entered": st.booleans(),
})


@settings(max_examples=30)
@given(specs=st.lists(visit_spec, min_size=1, max_size=10), grace_days=st.integers(0, 30),
       off_study_in=st.one_of(st.none(), st.integers(-60, 0)))
def test_the_status_job_and_visit_status_agree_on_random_visits(patient_sz, coordinator, specs, grace_days,
                                                                off_study_in):
    with transaction.atomic():  # each example rolled back: the fixtures' rows stay, the example's go
        protocol = patient_sz.protocol
        protocol.visit_overdue_grace_days = grace_days
        protocol.save()
        off_study_date = None if off_study_in is None else TODAY + datetime.timedelta(days=off_study_in)
        if off_study_date is not None:
            patient_sz.status, patient_sz.off_study_date = PatientStatus.OFF_STUDY, off_study_date
            patient_sz.off_study_reason = "Death"
            patient_sz.save()
        definitions = list(VisitDefinition.objects.filter(protocol=protocol).order_by("target_day"))
        visits = []
        for spec, definition in zip(specs, definitions, strict=False):
            start = TODAY + datetime.timedelta(days=spec["start"])
            end = start + datetime.timedelta(days=spec["length"])
            visit = Visit.objects.create(patient=patient_sz, definition=definition, target_date=start,
                                         window_start=start, window_end=end, status=spec["status"])
            if spec["data_entered"]:
                SampleForm.objects.create(patient=patient_sz, protocol=protocol, visit=visit, assessment_date=start,
                                          weight_kg="70.0", performance_status="0")
            visits.append((visit, spec))

        services.visits_update_status(today=TODAY, patient_ids=[patient_sz.pk])

        for visit, spec in visits:
            visit.refresh_from_db()
            expected = visit_status(
                today=TODAY, window_start=visit.window_start, window_end=visit.window_end,
                done=spec["data_entered"], grace_days=grace_days,
                # The job's reading of "not expected": off study before the window had closed.
                not_expected=off_study_date is not None and visit.window_end >= off_study_date,
            )
            assert visit.status == expected, (spec, grace_days, off_study_date)
        transaction.set_rollback(True)


@pytest.mark.parametrize("grace_days", [0, 1, 14])
def test_the_window_bands_follow_each_other_without_gap_or_overlap(grace_days):
    window = {"window_start": datetime.date(2026, 2, 11), "window_end": datetime.date(2026, 2, 15),
              "grace_days": grace_days}

    def day(edge: WindowEdge) -> datetime.date:
        return edge.day(**window)

    assert VISIT_WINDOW_BANDS[0].first_day is None and VISIT_WINDOW_BANDS[-1].last_day is None
    for before, after in zip(VISIT_WINDOW_BANDS, VISIT_WINDOW_BANDS[1:], strict=False):
        assert day(after.first_day) == day(before.last_day) + datetime.timedelta(days=1)
    assert [band.status for band in VISIT_WINDOW_BANDS] == [
        VisitStatus.SCHEDULED, VisitStatus.DUE, VisitStatus.OVERDUE, VisitStatus.MISSED]


def test_a_day_7_visit_with_14_days_grace_is_overdue_until_1_march_and_missed_on_2_march():
    window = {"window_start": datetime.date(2026, 2, 11), "window_end": datetime.date(2026, 2, 15),
              "grace_days": 14, "done": False}
    assert visit_status(today=datetime.date(2026, 3, 1), **window) == VisitStatus.OVERDUE
    assert visit_status(today=datetime.date(2026, 3, 2), **window) == VisitStatus.MISSED
