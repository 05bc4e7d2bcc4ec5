import datetime
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from crf.services import audited_save
from patients.models import PatientStatus, Visit
from tests.factories import MembershipFactory, UserFactory
from visits import services
from visits.models import VisitReminder

from .conftest import infuse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager")]
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def infused(patient_sz, coordinator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return infuse(patient_sz, coordinator)


def status_on(day: datetime.date, code="D7"):
    # 09:00 in Suzhou: the beat job's local date is the date the job uses.
    with time_machine.travel(datetime.datetime.combine(day, datetime.time(9), tzinfo=SHANGHAI), tick=False):
        services.visits_update_status(today=timezone.localdate())
    return Visit.objects.get(definition__code=code).status


def test_infusion_schedules_sixteen_visits_to_three_years(infused):
    visits = list(Visit.objects.filter(patient=infused).select_related("definition").order_by("target_date"))
    assert [(v.definition.code, v.target_date) for v in visits][:2] == [
        ("D1", datetime.date(2026, 2, 7)), ("D4", datetime.date(2026, 2, 10))]
    assert (visits[-1].definition.code, visits[-1].target_date, visits[-1].window_end) == (
        "M36", datetime.date(2029, 2, 6), datetime.date(2029, 3, 8))  # day 1096, ±30
    assert len(visits) == 16


def test_scheduling_twice_creates_each_visit_once_with_one_creation_record(infused, coordinator):
    assert services.visits_schedule(patient=infused, by=coordinator) == {"created": 0, "retargeted": 0}
    assert Visit.objects.filter(patient=infused).count() == 16
    assert Visit.history.filter(patient_id=infused.pk, history_type="+").count() == 16


# D7: target 13 Feb, window 11–15 Feb; grace 14 days → overdue to 1 Mar, missed from 2 Mar.
@pytest.mark.parametrize("day, expected", [
    (datetime.date(2026, 2, 10), "scheduled"),
    (datetime.date(2026, 2, 11), "due"),
    (datetime.date(2026, 2, 15), "due"),
    (datetime.date(2026, 2, 16), "overdue"),
    (datetime.date(2026, 3, 1), "overdue"),
    (datetime.date(2026, 3, 2), "missed"),
])
def test_day_7_visit_status_on_each_side_of_its_window_and_grace(infused, day, expected):
    assert status_on(day) == expected


def test_status_changes_are_in_the_audit_trail_with_the_job_as_reason(infused):
    status_on(datetime.date(2026, 2, 11))
    status_on(datetime.date(2026, 2, 16))
    d7 = Visit.objects.get(definition__code="D7")
    assert [(row.status, row.history_change_reason) for row in d7.history.order_by("history_id")][-2:] == [
        ("due", "Daily visit status job: due"), ("overdue", "Daily visit status job: overdue")]
    assert d7.status_reason == "Window closed without data"
    rows = d7.history.count()
    status_on(datetime.date(2026, 2, 16))  # nothing changed: no new history row
    assert d7.history.count() == rows


def test_visit_with_data_is_done_and_stays_done(infused, coordinator):
    d7 = Visit.objects.get(definition__code="D7")
    services.visit_mark_done(visit=d7, on_date=datetime.date(2026, 2, 12), by=coordinator)
    assert status_on(datetime.date(2026, 5, 1)) == "done"
    d7.refresh_from_db()
    assert d7.done_date == datetime.date(2026, 2, 12)


def test_a_crf_linked_to_the_visit_makes_it_done(infused):
    from infusions.models import Infusion

    infusion = Infusion.objects.get()
    d1 = Visit.objects.get(definition__code="D1")
    infusion.visit = d1
    infusion.save()
    assert status_on(datetime.date(2026, 2, 20), code="D1") == "done"


def test_death_makes_the_remaining_visits_not_expected_with_the_reason(infused, coordinator):
    infused.status = PatientStatus.OFF_STUDY
    infused.off_study_date = datetime.date(2026, 3, 20)
    infused.off_study_reason = "Death"
    audited_save(instance=infused, by=coordinator, reason="Died of sepsis")
    status_on(datetime.date(2026, 4, 1))
    statuses = dict(Visit.objects.values_list("definition__code", "status"))
    assert statuses["D28"] == "missed"  # window closed 10 Mar, before death: the visit was missed
    assert statuses["M2"] == "not_expected"  # window 31 Mar – 14 Apr, after death
    assert Visit.objects.get(definition__code="M36").status_reason == "Patient off study: Death"
    assert Visit.objects.filter(status="not_expected").count() == 9  # M2 to M36


@pytest.mark.parametrize("on_date, warning", [
    (datetime.date(2026, 2, 10), "1 day before it opens"),
    (datetime.date(2026, 2, 11), None),
    (datetime.date(2026, 2, 15), None),
    (datetime.date(2026, 2, 16), "1 day after it closed"),
])
def test_window_warning_for_data_entered_outside_the_window(infused, on_date, warning):
    message = services.visit_window_warning(Visit.objects.get(definition__code="D7"), on_date)
    assert (message is None) if warning is None else (warning in message and "2026-02-11 to 2026-02-15" in message)


def test_coordinators_get_one_email_a_day_listing_due_and_overdue(infused, coordinator, coordinator_wx):
    coordinator.email = "lin.mei@example.org"
    coordinator.save()
    coordinator_wx.email = "xu.lei@example.org"
    coordinator_wx.save()
    inactive = UserFactory(username="gone", email="gone@example.org", is_active=False)
    MembershipFactory(user=inactive, site=infused.site, role="coordinator")
    day = datetime.date(2026, 2, 16)
    with time_machine.travel(datetime.datetime.combine(day, datetime.time(6), tzinfo=SHANGHAI), tick=False):
        result = services.visits_daily(today=timezone.localdate())
        again = services.visits_daily(today=timezone.localdate())
    assert (result["emails"], again["emails"]) == (1, 0)
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["lin.mei@example.org"]
    # Overdue: D1 (window 6–8 Feb), D4 (9–11 Feb), D7 (11–15 Feb). Due: D10 (14–18 Feb). Opening within
    # 7 days: D14 (18–22 Feb); D21 (25 Feb – 1 Mar) opens after 23 Feb.
    assert email.subject == "Visits 2026-02-16: 3 overdue, 2 due within 7 days"
    body = email.body
    assert "SZ-" in body and "Day 7 (D7): window 2026-02-11 to 2026-02-15" in body
    assert (body.index("OVERDUE") < body.index("Day 1 (D1)") < body.index("Day 4 (D4)") < body.index("Day 7 (D7)")
            < body.index("DUE within"))
    assert body.index("DUE within") < body.index("Day 10 (D10)") < body.index("Day 14 (D14)")
    assert "Day 21" not in body
    assert VisitReminder.objects.get().visits_overdue == 3
    with time_machine.travel(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(6),
                                                       tzinfo=SHANGHAI), tick=False):
        call_command("visits_update_status")
    assert len(mail.outbox) == 2


def test_visit_page_lists_expected_forms_and_marks_unbuilt_ones(client, infused, coordinator):
    client.force_login(coordinator)
    d7 = Visit.objects.get(definition__code="D7")
    page = client.get(f"/visits/{d7.pk}/").content.decode()
    assert "CRS assessment" in page and "ICANS assessment" in page and "Adverse events" in page
    # Every app builds its forms now: each expected form links its entry page for this visit.
    study_id = infused.study_id
    for path in ("crs/new/", "icans/new/", "adverse-events/new/"):
        assert f'href="/safety/{study_id}/{path}?visit={d7.pk}"' in page
    assert "Form not available" not in page


def test_dashboard_lists_overdue_before_due_and_hides_other_sites(client, infused, coordinator, coordinator_wx):
    with time_machine.travel(datetime.datetime(2026, 2, 16, 9, tzinfo=SHANGHAI), tick=False):
        services.visits_update_status(today=timezone.localdate())
        client.force_login(coordinator)
        page = client.get("/visits/").content.decode()
        assert page.index("Day 4") < page.index("Day 7") < page.index("Day 10") < page.index("Day 14")
        assert "Month 2" not in page
        client.force_login(coordinator_wx)
        assert "Day 7" not in client.get("/visits/").content.decode()
        assert client.get(f"/visits/{Visit.objects.get(definition__code='D7').pk}/").status_code == 404


def test_every_visit_status_is_final_or_decided_by_the_window():
    from trial.rules import VisitStatus
    from visits.services import FINAL_STATUSES, WINDOW_STATUSES

    assert set(FINAL_STATUSES) | set(WINDOW_STATUSES) == set(VisitStatus)
    assert not set(FINAL_STATUSES) & set(WINDOW_STATUSES)
