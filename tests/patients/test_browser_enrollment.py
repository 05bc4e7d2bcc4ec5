"""A coordinator takes a patient from screening to enrollment and baseline in
the browser, then reads the patient's timeline."""
import pytest

from patients.models import BaselineCRF, Patient
from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def answer_all_eligible(page, protocol):
    for criterion in protocol.eligibility_criteria.all():
        value = "true" if criterion.kind == "inclusion" else "false"
        page.check(f"input[name=criterion_{criterion.code}][value={value}]")


def test_coordinator_screens_enrolls_and_enters_baseline(login, protocol, site_sz, coordinator):
    page = login(coordinator.username)
    page.goto("/patients/")
    page.click("text=Screen a new patient")
    page.fill("input[name=screening_date]", "2026-03-04")
    page.fill("input[name=consent_date]", "2026-03-02")
    answer_all_eligible(page, protocol)
    screenshot(page, "screening-form")
    page.click("button:has-text('Save screening')")
    assert "Eligible: enrolled as SZ-001" in page.inner_text("main")
    assert page.url.endswith("/patients/SZ-001/baseline/new/")

    # An impossible weight is refused on the field; nothing is saved.
    page.select_option("select[name=sex]", "F")
    page.fill("input[name=birth_date]", "1996-11-20")
    page.fill("input[name=weight_kg]", "400")
    page.fill("input[name=height_cm]", "158")
    page.fill("input[name=bone_marrow_blasts_percent]", "62")
    page.select_option("select[name=ph_status]", "positive")
    page.fill("input[name=prior_lines_of_therapy]", "2")
    for name, value in (("prior_hsct", "false"), ("prior_blinatumomab", "true"), ("prior_inotuzumab", "false")):
        page.select_option(f"select[name={name}]", value)
    page.click("button:has-text('Save baseline')")
    assert "A weight of 400 kg is impossible" in page.get_by_test_id("baseline-form").inner_text()
    screenshot(page, "baseline-refused")
    assert not BaselineCRF.objects.exists()

    page.fill("input[name=weight_kg]", "52")
    page.click("button:has-text('Save baseline')")
    # sqrt(158 × 52 / 3600) = sqrt(2.28222) = 1.51070 → 1.51
    assert "body-surface area 1.51 m²" in page.inner_text("main")
    assert page.get_by_test_id("bsa").inner_text() == "1.51 m²"
    table = page.get_by_test_id("timeline-table").inner_text()
    assert "Informed consent signed" in table and "Enrolled as SZ-001" in table and "Baseline" in table
    screenshot(page, "timeline-enrolled")
    patient = Patient.objects.get(subject_id="SZ-001")
    assert (patient.status, patient.baseline.age_years) == ("enrolled", 29)


def test_coordinator_records_a_screen_failure_with_its_reason(login, protocol, site_sz, coordinator):
    page = login(coordinator.username)
    page.goto("/patients/screening/new/")
    page.fill("input[name=screening_date]", "2026-03-04")
    page.fill("input[name=consent_date]", "2026-03-02")
    answer_all_eligible(page, protocol)
    page.check("input[name=criterion_uncontrolled_infection][value=true]")
    page.click("button:has-text('Save screening')")
    summary = page.get_by_test_id("patient-summary").inner_text()
    assert "SCR-SZ-001" in summary and "not enrolled" in summary
    assert "Exclusion criterion present: Active uncontrolled bacterial, fungal or viral infection" in summary
    screenshot(page, "timeline-screen-failure")


def test_demo_patient_timeline_and_list(login):
    import datetime

    from django.core.management import call_command

    call_command("load_demo", as_of=datetime.date(2026, 11, 24))
    page = login("investigator", "demo-cart-2026")
    page.goto("/patients/?status=follow_up&sort=-day0")
    rows = page.get_by_test_id("patient-list").locator("tbody tr")
    assert rows.count() == 10  # SZ patients in follow-up in the demo trial
    screenshot(page, "patient-list")
    page.goto("/patients/SZ-010/")
    assert page.get_by_test_id("timeline-axis").locator("circle").count() >= 4
    screenshot(page, "timeline-demo")
    page.emulate_media(media="print")
    screenshot(page, "timeline-demo-print")


def test_investigator_reads_a_whole_course_on_one_page(login, protocol, site_sz, investigator, monkeypatch):
    """Other apps' events (as their hooks will send them) on the same axis as visits."""
    import datetime
    import types

    from patients import timeline as patients_timeline
    from patients.models import Visit
    from patients.timeline import TimelineEvent
    from tests.factories import PatientFactory

    day0 = datetime.date(2026, 2, 2)
    patient = PatientFactory(site=site_sz, status="follow_up", consent_date=datetime.date(2026, 1, 2))
    patient.infusion_date = day0
    patient.save()
    for code, status in (("D7", "done"), ("D14", "done"), ("D28", "overdue"), ("M3", "missed"), ("M6", "due")):
        definition = protocol.visit_definitions.get(code=code)
        target = day0 + datetime.timedelta(days=definition.target_day)
        Visit.objects.create(patient=patient, definition=definition, target_date=target, status=status,
                             window_start=target - datetime.timedelta(days=definition.window_before_days),
                             window_end=target + datetime.timedelta(days=definition.window_after_days))

    def day(n):
        return day0 + datetime.timedelta(days=n)

    other = types.SimpleNamespace(timeline_events=lambda p: [
        *(TimelineEvent(date=day(n), kind="lymphodepletion", label=f"Lymphodepletion day {n}",
                        detail="fludarabine 30 mg/m², cyclophosphamide 300 mg/m²", status="verified")
          for n in (-5, -4, -3)),
        TimelineEvent(date=day0, kind="infusion", label="CAR-T infusion", detail="7.2 ×10⁶ CAR-T cells/kg",
                      status="signed"),
        TimelineEvent(date=day(2), kind="crs", label="CRS", detail="fever, hypotension on fluids", status="submitted",
                      end_date=day(7), severity=2),
        TimelineEvent(date=day(5), kind="icans", label="ICANS", detail="ICE 6", status="submitted", end_date=day(8),
                      severity=3),
        TimelineEvent(date=day(28), kind="response", label="Day-28 response: CR, MRD-negative", status="locked"),
        TimelineEvent(date=day(150), kind="relapse", label="Relapse (CD19-negative)", status="submitted"),
    ])
    monkeypatch.setattr(patients_timeline, "app_modules", lambda name: [patients_timeline, other])
    page = login(investigator.username)
    page.goto(f"/patients/{patient.subject_id}/")
    table = page.get_by_test_id("timeline-table").inner_text()
    for text in ("D-31", "Lymphodepletion day -5", "D0", "CAR-T infusion", "D28", "CR, MRD-negative", "Overdue",
                 "Missed", "D150"):
        assert text in table
    # 4 registry events, 5 visits, 8 from other apps
    assert page.get_by_test_id("timeline-axis").locator("circle").count() == 17
    screenshot(page, "timeline-full-course")
