import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from patients.models import Patient
from trial.models import Protocol, Site, SiteMembership

pytestmark = pytest.mark.django_db


def test_load_demo_twice_does_not_duplicate(capsys):
    call_command("load_demo", as_of=datetime.date(2026, 11, 24))
    counts = (Protocol.objects.count(), Site.objects.count(), get_user_model().objects.count(),
              SiteMembership.objects.count(), Patient.objects.count())
    first_ids = sorted(Patient.objects.values_list("screening_number", "subject_id"))
    call_command("load_demo", as_of=datetime.date(2026, 11, 24))
    assert (Protocol.objects.count(), Site.objects.count(), get_user_model().objects.count(),
            SiteMembership.objects.count(), Patient.objects.count()) == counts
    assert sorted(Patient.objects.values_list("screening_number", "subject_id")) == first_ids
    assert counts[4] == 30
    out = capsys.readouterr().out
    assert "coordinator" in out and "demo-cart-2026" in out


def test_demo_covers_every_stage():
    call_command("load_demo", as_of=datetime.date(2026, 11, 24))
    statuses = set(Patient.objects.values_list("status", flat=True))
    assert statuses == {"screening", "screen_failed", "enrolled", "lymphodepletion", "infused", "follow_up",
                        "off_study"}
    assert Patient.objects.filter(subject_id="SZ-001").exists()


def test_demo_loads_as_of_today_as_make_run_loads_it():
    """`make run` loads the demo as of today, and the services refuse a dose dated after today: a demo course
    still running today (planned days after it) made `make run` fail. Fixed dates above cannot show it."""
    call_command("load_demo")
    today = datetime.date.today()
    assert Patient.objects.count() == 30
    assert Patient.objects.filter(status="lymphodepletion").exists()
    from infusions.models import LymphodepletionDose

    assert not LymphodepletionDose.objects.filter(administration_date__gt=today).exists()
