"""The patient timeline: the patients app's own events, other apps' events
through the hook, the study-day axis and the page."""
import datetime

import pytest

from patients.models import Visit
from patients.timeline import (
    AXIS_WIDTH,
    GRADE_LABEL_WIDTH,
    TICK_CHAR_WIDTH,
    TimelineEvent,
    axis_layout,
    patient_events,
    timeline_events,
)
from tests.factories import PatientFactory, infuse

pytestmark = pytest.mark.django_db

INFUSION = datetime.date(2026, 2, 1)


@pytest.fixture
def infused(protocol, site_sz, coordinator):
    """Infused on 1 February 2026 through the services, with four of its visits in four states."""
    patient = infuse(PatientFactory(site=site_sz, consent_date=datetime.date(2026, 1, 5)), by=coordinator,
                     day_0=INFUSION)
    for code, status, done in (("D7", "done", datetime.date(2026, 2, 8)), ("D14", "missed", None),
                               ("D28", "overdue", None), ("M2", "scheduled", None)):
        definition = protocol.visit_definitions.get(code=code)
        target = INFUSION + datetime.timedelta(days=definition.target_day)
        Visit.objects.create(
            patient=patient, definition=definition, target_date=target, status=status, done_date=done,
            window_start=target - datetime.timedelta(days=definition.window_before_days),
            window_end=target + datetime.timedelta(days=definition.window_after_days),
        )
    return patient


def test_own_events_cover_consent_screening_enrollment_baseline_and_visits(infused):
    events = {(event.kind, event.label): event for event in timeline_events(infused)}
    consent = events[("consent", "Informed consent signed")]
    assert (consent.date, consent.status) == (datetime.date(2026, 1, 5), "submitted")
    assert consent.url == f"/patients/{infused.subject_id}/screening/"
    assert consent.history_url == f"/monitoring/history/patients.screeningcrf/{infused.screening.pk}/"
    assert events[("enrollment", f"Enrolled as {infused.subject_id}")].date == datetime.date(2026, 1, 6)
    assert "BSA 1.82 m²" in events[("baseline", "Baseline")].detail  # 170 cm, 70 kg
    visits = {event.label.split()[1]: (event.status, event.study_day(infused)) for event in events.values()
              if event.kind == "visit"}
    assert visits == {"D7": ("done", 7), "D14": ("missed", 14), "D28": ("overdue", 28), "M2": ("scheduled", 61)}


def test_screen_failure_and_off_study_are_events(protocol, site_sz):
    failed = PatientFactory(site=site_sz, eligible=False)  # the protocol's first exclusion criterion present
    kinds = {event.kind: event for event in timeline_events(failed)}
    assert "enrollment" not in kinds
    assert kinds["screen_failure"].detail == failed.screen_failure_reason
    assert kinds["screen_failure"].detail.startswith("Exclusion criterion present: ")
    gone = PatientFactory(site=site_sz, status="off_study", off_study_date=datetime.date(2026, 6, 1),
                          off_study_reason="Death")
    off = [event for event in timeline_events(gone) if event.kind == "off_study"]
    assert [(event.date, event.detail) for event in off] == [(datetime.date(2026, 6, 1), "Death")]


@pytest.fixture
def relapsed(full_patient, coordinator):
    """The full patient (infused 2026-02-06 through the services, with CRS, ICANS, an AE, a response and a
    follow-up contact) who then relapses on day 199: every app's real timeline events."""
    from outcomes.services import follow_up_save

    patient = full_patient.patient
    follow_up_save(patient=patient, by=coordinator, values={
        "contact_date": datetime.date(2026, 8, 25), "follow_up_status": "relapsed",
        "relapse_date": datetime.date(2026, 8, 24)})
    return patient


def test_events_from_every_app_are_gathered_in_date_order(relapsed):
    """An app whose timeline hook is not gathered drops its kinds here; an unsorted merge breaks the order."""
    events = patient_events(relapsed)
    assert [event.date for event in events] == sorted(event.date for event in events)
    assert {event.kind for event in events} == {
        "consent", "screening", "baseline", "enrollment", "off_study",  # patients (the end of study of day 120)
        "lymphodepletion", "infusion",  # infusions
        "adverse_event", "crs", "icans",  # safety
        "response", "follow_up", "relapse",  # outcomes
        "laboratory",  # laboratory (its hook was not gathered before laboratory joined trial.hooks.CLINICAL_APPS)
        "visit",
    }


def test_axis_places_day_zero_and_orders_study_days(relapsed):
    """Placing day 0 anywhere but the infusion, or an event on the wrong study day, fails here."""
    axis = axis_layout(patient_events(relapsed), infusion_date=relapsed.infusion_date)
    by_label = {marker.event.label: marker for marker in axis.markers}
    infusion = by_label["CAR-T infusion"]
    assert infusion.x == axis.day_zero_x and infusion.day == 0
    assert (by_label["CRS grade 1"].day, by_label["ICANS grade 1"].day, by_label["Relapse"].day) == (2, 5, 199)
    assert by_label["Lymphodepletion day -5"].day == -5
    assert (by_label["Informed consent signed"].x < by_label["Lymphodepletion day -5"].x < infusion.x
            < by_label["CRS grade 1"].x < by_label["Relapse"].x)
    assert [label for _x, label, _anchor in axis.ticks][:5] == ["D-30", "D-14", "D-5", "D0", "D7"]  # consent is day -32
    assert {name for name, _y in axis.lanes} == {
        "Screening and enrollment", "Treatment", "Safety", "Response and outcome", "Laboratory", "Visits"}


def test_timeline_page_shows_events_grades_statuses_and_audit_links(client, coordinator, relapsed, full_patient):
    """A page that drops another app's events, their grades, study days, statuses or links fails here."""
    client.force_login(coordinator)
    html = client.get(f"/patients/{relapsed.subject_id}/").content.decode()
    crs = full_patient.crf("safety.crsassessment")
    assert "CRS grade 1" in html and ">G1<" in html and ">G3<" in html  # CRS; the grade 3 adverse event
    assert "5.00 ×10⁶ CAR⁺ cells/kg (total 5.00 ×10⁶/kg, lot SZ-CART-0001)" in html
    for study_day in ("D-32", "D-5", "D0", "D2", "D5", "D28", "D199"):  # consent 2026-01-05 is day −32
        assert f"<td>{study_day}</td>" in html
    assert f'href="/safety/{relapsed.subject_id}/crs/{crs.pk}/"' in html
    assert f'href="/monitoring/history/patients.screeningcrf/{relapsed.screening.pk}/"' in html
    # The CRS signed, the ICANS form locked, the patient off study (day 120); the day-28 visit, whose window
    # has passed with no form linked to it, reads "Missed" at once: the end-of-study save runs the status
    # job's pass for the patient instead of leaving it "Scheduled" until the nightly run.
    for status in ("Signed", "Locked", "Missed", "Submitted", "Off study"):
        assert f">{status}</span>" in html
    assert ">Scheduled</span>" not in html
    assert "<svg" in html and "1.82 m²" in html


def test_timeline_before_infusion_has_no_study_days(client, coordinator, protocol, site_sz):
    patient = PatientFactory(site=site_sz)
    client.force_login(coordinator)
    response = client.get(f"/patients/{patient.subject_id}/")
    assert all(day is None for _event, day in response.context["rows"])
    assert response.context["axis"].day_zero_x is None


def _event(day: int, kind: str = "crs", severity: int | None = 2) -> TimelineEvent:
    return TimelineEvent(date=datetime.date(2026, 2, 1) + datetime.timedelta(days=day), kind=kind,
                         label=f"{kind} day {day}", severity=severity)


def test_grade_labels_of_neighbouring_safety_events_do_not_overlap():
    """Events on days 20, 21 and 22 of a three-year axis sit a few pixels apart: the second grade label
    goes below its marker and the third, with no room left, is left to the tooltip and the events table."""
    axis = axis_layout([_event(20), _event(21), _event(22), _event(1000)], infusion_date=datetime.date(2026, 2, 1))
    by_day = {marker.day: marker for marker in axis.markers}
    lane_y = by_day[20].y
    assert by_day[22].x - by_day[20].x < GRADE_LABEL_WIDTH
    assert (by_day[20].grade_label_y, by_day[21].grade_label_y, by_day[22].grade_label_y) == (
        lane_y - 9, lane_y + 17, None)
    assert by_day[1000].grade_label_y == lane_y - 9


def test_the_last_date_label_ends_inside_the_drawing():
    """Before infusion the axis is by date: the last date label is anchored at its end, not cut off."""
    axis = axis_layout([_event(0, "consent", None), _event(36, "screening", None)], infusion_date=None)
    x, label, anchor = axis.ticks[-1]
    assert anchor == "end" and x + len(label) * TICK_CHAR_WIDTH / 2 > AXIS_WIDTH
    assert all(a == "middle" for _x, _label, a in axis.ticks[:-1])
