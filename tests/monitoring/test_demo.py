import datetime
from decimal import Decimal

import pytest

from monitoring import demo
from monitoring.models import DataQuery, Signature, SourceVerification
from monitoring.services import crf_save
from tests.crfapp.models import SampleForm

pytestmark = pytest.mark.django_db


def test_demo_verifies_and_signs_the_older_half_and_queries_the_newest(patient_sz, protocol, coordinator,
                                                                       investigator, monitor):
    forms = [
        crf_save(crf=SampleForm(patient=patient_sz, protocol=protocol, assessment_date=datetime.date(2026, 2, day),
                                weight_kg=Decimal("60.0"), performance_status="0"), by=coordinator)
        for day in (1, 8, 15, 22)
    ]
    demo.load(created=[(None, patient_sz, coordinator)], users={"monitor": monitor, "investigator": investigator})
    assert set(SourceVerification.objects.values_list("object_id", flat=True)) == {forms[0].pk, forms[1].pk}
    assert set(Signature.objects.values_list("object_id", flat=True)) == {forms[0].pk, forms[1].pk}
    query = DataQuery.objects.get()
    assert (query.object_id, query.field) == (forms[3].pk, "assessment_date")
