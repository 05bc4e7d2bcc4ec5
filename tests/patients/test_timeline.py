"""The patient timeline: the patients app's own events, other apps' events
through the hook, the study-day axis and the page."""
import datetime
import types

import pytest

from patients import timeline as patients_timeline
from patients.models import Visit
from patients.timeline import TimelineEvent, axis_layout, patient_events, timeline_events
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

INFUSION = datetime.date(2026, 2, 1)


@pytest.fixture
def infused(protocol, site_sz):
    patient = PatientFactory(site=site_sz, status="follow_up", consent_date=datetime.date(2026, 1, 5))
    patient.infusion_date = INFUSION
    patient.save()
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
    failed = PatientFactory(site=site_sz, status="screen_failed", subject_id=None, enrollment_date=None,
                            screen_failure_reason="Exclusion criterion present: Pregnancy or breastfeeding")
    kinds = {event.kind: event for event in timeline_events(failed)}
    assert "enrollment" not in kinds
    assert kinds["screen_failure"].detail == "Exclusion criterion present: Pregnancy or breastfeeding"
    gone = PatientFactory(site=site_sz, status="off_study", off_study_date=datetime.date(2026, 6, 1),
                          off_study_reason="Death")
    off = [event for event in timeline_events(gone) if event.kind == "off_study"]
    assert [(event.date, event.detail) for event in off] == [(datetime.date(2026, 6, 1), "Death")]


def fake_safety(patient):
    return [
        TimelineEvent(date=INFUSION + datetime.timedelta(days=3), kind="crs", label="CRS grade 2",
                      detail="fever 39.4 °C, hypotension on fluids", status="signed", url="/safety/crs/1/",
                      end_date=INFUSION + datetime.timedelta(days=6), severity=2,
                      history_url="/monitoring/history/safety.crs/1/"),
        TimelineEvent(date=INFUSION, kind="infusion", label="CAR-T infusion", status="locked"),
        TimelineEvent(date=INFUSION + datetime.timedelta(days=200), kind="relapse", label="CD19-negative relapse"),
    ]


@pytest.fixture
def with_other_apps(monkeypatch):
    """Other apps' hooks, as they will arrive: whatever events they return are shown."""
    other = types.SimpleNamespace(timeline_events=fake_safety)
    monkeypatch.setattr(patients_timeline, "app_modules", lambda name: [patients_timeline, other])


def test_events_from_every_app_are_gathered_in_date_order(infused, with_other_apps):
    events = patient_events(infused)
    assert [event.date for event in events] == sorted(event.date for event in events)
    assert {"crs", "infusion", "relapse", "consent", "visit"} <= {event.kind for event in events}


def test_axis_places_day_zero_and_orders_study_days(infused, with_other_apps):
    axis = axis_layout(patient_events(infused), infusion_date=INFUSION)
    by_label = {marker.event.label: marker for marker in axis.markers}
    infusion = by_label["CAR-T infusion"]
    assert infusion.x == axis.day_zero_x and infusion.day == 0
    crs = by_label["CRS grade 2"]
    assert (crs.day, crs.bar_width > 0) == (3, True)
    assert by_label["Informed consent signed"].x < infusion.x < crs.x < by_label["CD19-negative relapse"].x
    assert [label for _x, label, _anchor in axis.ticks][:3] == ["D-14", "D-5", "D0"]  # consent is day -27
    assert {name for name, _y in axis.lanes} >= {"Safety", "Visits", "Treatment"}


def test_timeline_page_shows_events_grades_statuses_and_audit_links(client, coordinator, infused, with_other_apps):
    client.force_login(coordinator)
    html = client.get(f"/patients/{infused.subject_id}/").content.decode()
    assert "CRS grade 2" in html and ">G2<" in html
    assert "fever 39.4 °C, hypotension on fluids" in html
    assert '<td>D3</td>' in html and '<td>D-27</td>' in html  # CRS day 3; consent 2026-01-05 is day −27
    assert 'href="/monitoring/history/safety.crs/1/"' in html
    assert f'href="/monitoring/history/patients.screeningcrf/{infused.screening.pk}/"' in html
    for status in ("Signed", "Locked", "Missed", "Overdue", "Done", "Submitted"):
        assert f">{status}</span>" in html
    assert "<svg" in html and "1.82 m²" in html


def test_timeline_before_infusion_has_no_study_days(client, coordinator, protocol, site_sz):
    patient = PatientFactory(site=site_sz)
    client.force_login(coordinator)
    response = client.get(f"/patients/{patient.subject_id}/")
    assert all(day is None for _event, day in response.context["rows"])
    assert response.context["axis"].day_zero_x is None
