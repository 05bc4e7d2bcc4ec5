"""The SAE 24-hour clock in the overdue flagging, with a fixed clock across midnight."""
import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from safety.models import AdverseEvent, SaeReport
from safety.services import adverse_event_save, sae_overdue_notify, sae_report_record
from safety.tasks import sae_overdue_notify as sae_overdue_notify_task

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Aware at 22:30 on 3 February (site time): due 22:30 on 4 February, across two midnights of the clock.
AWARE_AT = datetime.datetime(2026, 2, 3, 22, 30, tzinfo=SHANGHAI)


@pytest.fixture
def sae(infused_patient, coordinator, investigator, monitor):
    investigator.email, monitor.email = "inv@example.org", "mon@example.org"
    investigator.save()
    monitor.save()
    with time_machine.travel(datetime.datetime(2026, 2, 3, 23, 0, tzinfo=SHANGHAI), tick=False):
        return adverse_event_save(event=AdverseEvent(
            patient=infused_patient, term="Cytokine release syndrome", grade=3, onset_date=datetime.date(2026, 2, 3),
            serious=True, seriousness_criteria=["hospitalisation"], aware_at=AWARE_AT, relatedness_cart="definite",
            relatedness_lymphodepletion="not_related", action_taken="treatment", outcome="recovering",
        ), by=coordinator)


def _home_flags(client, user):
    client.force_login(user)
    return "Cytokine release syndrome (grade 3)" in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("now, overdue", [
    (datetime.datetime(2026, 2, 4, 0, 5, tzinfo=SHANGHAI), False),  # just past midnight: 22 h 25 min left
    (datetime.datetime(2026, 2, 4, 22, 30, tzinfo=SHANGHAI), False),  # exactly 24 h: still on time
    (datetime.datetime(2026, 2, 4, 22, 31, tzinfo=SHANGHAI), True),  # one minute late
])
def test_home_pages_flag_the_initial_report_only_after_24_hours(client, sae, investigator, monitor, coordinator,
                                                                now, overdue):
    with time_machine.travel(now, tick=False):
        assert _home_flags(client, investigator) is overdue
        assert _home_flags(client, monitor) is overdue
        assert _home_flags(client, coordinator) is False  # the panel is the investigator's and monitor's


def test_daily_job_emails_once_and_stops_when_the_report_is_recorded(sae, investigator):
    with time_machine.travel(datetime.datetime(2026, 2, 4, 22, 0, tzinfo=SHANGHAI), tick=False):
        assert sae_overdue_notify() == []
    with time_machine.travel(datetime.datetime(2026, 2, 5, 7, 0, tzinfo=SHANGHAI), tick=False):
        assert sae_overdue_notify_task.apply().get() == 1
        assert sae_overdue_notify() == []  # idempotent: the rerun e-mails nothing
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["inv@example.org", "mon@example.org"]
    assert "was due 2026-02-04 22:30" in mail.outbox[0].body
    with time_machine.travel(datetime.datetime(2026, 2, 5, 9, 0, tzinfo=SHANGHAI), tick=False):
        report = sae_report_record(event=sae, kind=SaeReport.Kind.INITIAL, by=investigator,
                                   sent_at=datetime.datetime(2026, 2, 5, 8, 45, tzinfo=SHANGHAI))
        from patients.models import Patient
        from safety.services import sae_events_overdue

        assert sae_events_overdue(patients=Patient.objects.all(), now=datetime.datetime.now(SHANGHAI)) == []
    assert report.history.first().history_user == investigator


def test_report_sent_in_time_never_flags(sae, investigator, capsys):
    with time_machine.travel(datetime.datetime(2026, 2, 4, 10, 0, tzinfo=SHANGHAI), tick=False):
        sae_report_record(event=sae, kind=SaeReport.Kind.INITIAL, by=investigator,
                          sent_at=datetime.datetime(2026, 2, 4, 9, 0, tzinfo=SHANGHAI))
    with time_machine.travel(datetime.datetime(2026, 2, 6, 7, 0, tzinfo=SHANGHAI), tick=False):
        call_command("sae_overdue_notify")
    assert "0 newly overdue" in capsys.readouterr().out
    assert mail.outbox == []


def test_follow_up_needs_the_initial_report_first(client, sae, investigator):
    client.force_login(investigator)
    url = reverse("safety:sae_report_new", args=[sae.patient.study_id, sae.pk])
    response = client.post(url, {"kind": "follow_up", "sent_at": "2026-02-04T09:00"})
    assert response.status_code == 400
    assert "Record the initial report first." in response.content.decode()
    client.post(url, {"kind": "initial", "sent_at": "2026-02-04T09:00"})
    client.post(url, {"kind": "follow_up", "sent_at": "2026-02-06T09:00", "notes": "Resolved on tocilizumab"})
    assert list(sae.sae_reports.values_list("kind", flat=True)) == ["initial", "follow_up"]


def test_beat_schedules_the_daily_job():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["safety-sae-overdue"]["task"] == "safety.sae_overdue_notify"
