"""Per-patient worst grades and the trial's incidence tables, from saved assessments."""
import datetime

import pytest
from django.urls import reverse

from safety.models import AdverseEvent, CrsAssessment, IcansAssessment
from safety.selectors import trial_safety_summary
from safety.services import adverse_event_save, crs_assessment_save, icans_assessment_save
from safety.summaries import episode

pytestmark = pytest.mark.django_db
DAY0 = datetime.date(2026, 2, 1)


def _crs(patient, by, day, temperature, hypotension="none", hypoxia="none"):
    return crs_assessment_save(assessment=CrsAssessment(
        patient=patient, assessment_date=DAY0 + datetime.timedelta(days=day), max_temperature_c=temperature,
        hypotension=hypotension, hypoxia=hypoxia), by=by)


def test_episode_onset_duration_and_worst_day():
    # Grade 1 on day 2, grade 3 on day 4, grade 0 on day 6, grade 1 on day 7.
    result = episode([(6, 0), (2, 1), (4, 3), (7, 1)])
    assert (result.worst_grade, result.onset_day, result.duration_days, result.worst_day) == (3, 2, 6, 4)
    assert episode([(1, 0)]).worst_grade == 0 and episode([]).onset_day is None


def test_trial_summary_counts_each_patient_once_at_worst_grade(client, coordinator, infused_patient,
                                                               infused_child):
    _crs(infused_patient, coordinator, 1, "38.5")  # grade 1
    _crs(infused_patient, coordinator, 3, "39.5", hypotension="one_vasopressor")  # grade 3
    _crs(infused_child, coordinator, 2, "38.3")  # grade 1
    icans_assessment_save(assessment=IcansAssessment(
        patient=infused_patient, assessment_date=DAY0 + datetime.timedelta(days=5), ice_score=5), by=coordinator)
    for patient, grade in ((infused_patient, 4), (infused_patient, 2), (infused_child, 3)):
        adverse_event_save(event=AdverseEvent(
            patient=patient, term="Neutrophil count decreased", grade=grade, onset_date=DAY0,
            relatedness_cart="possible", relatedness_lymphodepletion="probable", outcome="not_recovered"),
            by=coordinator)
    summary = trial_safety_summary(coordinator)
    assert summary.n_infused == 2
    assert (summary.crs_any.patients, summary.crs_grade_3.patients) == (2, 1)
    assert (summary.icans_any.patients, summary.icans_grade_3.patients) == (1, 0)
    row = {r.patient.pk: r for r in summary.patients}[infused_patient.pk]
    assert (row.crs.worst_grade, row.crs.onset_day, row.crs.duration_days) == (3, 1, 3)
    [term] = summary.terms
    assert (term.term, term.by_grade, term.any_grade.patients, term.grade_3_or_more.patients) == (
        "Neutrophil count decreased", (0, 0, 1, 1, 0), 2, 2)

    client.force_login(coordinator)
    page = client.get(reverse("safety:summary")).content.decode()
    assert "2/2 (100.0 %)" in page and "1/2 (50.0 %)" in page
    png = client.get(reverse("safety:swimmer_png"))
    assert png["Content-Type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    patient_page = client.get(reverse("safety:patient", args=[infused_patient.study_id])).content.decode()
    assert "onset day 1, 3 days from first to last graded assessment" in patient_page


def test_summary_only_counts_visible_patients(coordinator_wx, infused_patient):
    assert trial_safety_summary(coordinator_wx).n_infused == 0


def test_timeline_has_grades_and_kinds(coordinator, infused_patient):
    from safety.timeline import timeline_events

    _crs(infused_patient, coordinator, 2, "39.0", hypoxia="low_flow")
    events = [e for e in timeline_events(infused_patient) if e.kind == "crs"]
    assert [(e.study_day(infused_patient), e.severity, e.label) for e in events] == [(2, 2, "CRS grade 2")]


def test_swimmer_lanes_are_the_most_recently_infused_patients(monkeypatch, protocol, site_sz, coordinator):
    from safety import selectors
    from tests.factories import PatientFactory, infuse

    monkeypatch.setattr(selectors, "SWIMMER_MAX_LANES", 2)
    patients = [infuse(PatientFactory(site=site_sz, protocol=protocol, consent_date=datetime.date(2025, 12, 1)),
                       by=coordinator, day_0=datetime.date(2026, 1, day)) for day in (5, 1, 9)]
    lanes = selectors.swimmer_lanes(coordinator)
    assert sorted(label for label, _crs, _icans in lanes) == sorted(p.study_id for p in (patients[0], patients[2]))
