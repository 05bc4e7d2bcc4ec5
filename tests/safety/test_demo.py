"""The demo's safety data reach each plan's CRS and ICANS grade through the services."""
import datetime

import pytest
from django.core.management import call_command
from django.db.models import Max

from patients.models import Patient
from safety.models import AdverseEvent, SaeReport
from trial.demo import demo_plans

pytestmark = pytest.mark.django_db


def test_demo_reaches_planned_worst_grades_with_one_reported_sae():
    as_of = datetime.date(2026, 11, 24)
    call_command("load_demo", as_of=as_of)
    for plan in demo_plans(as_of=as_of):
        if not plan.is_infused:
            continue
        patient = Patient.objects.get(screening_number=plan.screening_number)
        worst = patient.crs_assessments.aggregate(g=Max("grade"))["g"]
        assert worst == plan.max_crs_grade, plan
        assert patient.icans_assessments.aggregate(g=Max("grade"))["g"] == plan.max_icans_grade
    sae = AdverseEvent.objects.get(serious=True)
    assert sae.sae_reports.get().kind == SaeReport.Kind.INITIAL
